import * as net from "node:net";
import type { Socket } from "node:net";

/** What bounds a connection before any request on it is authenticated. */
export interface ConnectionLimits {
  /** A connection must send its first bytes, and HTTP/1.1 its request headers, within this time. */
  headersTimeoutMs: number;
  /** A connection with no bytes either way for this long is closed (0: never). */
  idleTimeoutMs: number;
  /** Open connections from one remote address; more are closed at once (0: no limit). */
  maxConnectionsPerAddress: number;
  /** A trusted proxy's address (TRUST_PROXY): its connections carry many clients, so are not counted as one's. */
  trustedProxy?: (address: string) => boolean;
  /** Streams one HTTP/2 connection may have open at once (announced in its SETTINGS). */
  maxStreamsPerConnection: number;
  /** After an HTTP/1.1 answer that closes its connection, the rest of the request is read for at most this long (2 s). */
  closeLingerMs?: number;
  /**
   * Streams an HTTP/2 peer may cancel (RST_STREAM) in a burst, and per second after it, before the
   * session is ended with GOAWAY: the rapid-reset defence (CVE-2023-44487). Node's default: 1,000, then 33/s.
   */
  streamResets?: { burst: number; perSecond: number };
  /** Header fields an HTTP/2 request may carry (Node's default: 128). */
  maxHeaderListPairs?: number;
  /** Memory one HTTP/2 session may hold, answers waiting for the peer's window included, before it refuses new streams (Node's default: 10 MB). */
  maxSessionMemoryMb?: number;
}

/** Bounds for internal servers, whose only callers are the gateway and the consumer. */
export const internalConnectionLimits: ConnectionLimits = {
  headersTimeoutMs: 10_000,
  idleTimeoutMs: 0,
  maxConnectionsPerAddress: 0,
  // The gateway multiplexes every client's call over one connection.
  maxStreamsPerConnection: 10_000,
  // ... so every caller that cancels cancels on it too: Node's 33/s would end the session for every tenant.
  streamResets: { burst: 100_000, perSecond: 10_000 },
  // More than any call the gateway lets through (its own HTTP/1.1 limit is 2,000) and the headers it adds.
  maxHeaderListPairs: 4_096,
  // The gateway reads answers as fast as they come (its tenants' slow readers are bounded there), but a
  // few large answers written at once still wait here for its window: 10 MB refused every tenant's streams.
  maxSessionMemoryMb: 64,
};

/**
 * Who a connection's address counts as: an IPv6 address by its /64, the block one host or subscriber
 * is usually given, so the host cannot get a fresh limit per address (as @fastify/rate-limit counts
 * requests); an IPv4 address (also written as ::ffff:a.b.c.d) by itself.
 */
export function addressGroup(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!net.isIPv6(address)) return address;
  const groups = (part: string) => (part === "" ? [] : part.split(":").flatMap((g) => (g.includes(".") ? ["0", "0"] : [g])));
  const [head = "", tail] = address.split("%", 1)[0]!.split("::");
  const [first, last] = [groups(head), tail === undefined ? [] : groups(tail)];
  const all = [...first, ...Array<string>(8 - first.length - last.length).fill("0"), ...last];
  return `${all
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(":")}::/64`;
}

/**
 * Counts open connections per remote address (group); answers whether one more may be admitted.
 * A trusted proxy's are not counted: the clients it names are limited per request (X-Forwarded-For).
 */
export function perAddressLimit(max: number, trustedProxy: (address: string) => boolean = () => false): (socket: Socket) => boolean {
  if (max <= 0) return () => true;
  const open = new Map<string, number>();
  return (socket) => {
    if (trustedProxy(socket.remoteAddress ?? "")) return true;
    const address = addressGroup(socket.remoteAddress ?? "");
    const count = open.get(address) ?? 0;
    if (count >= max) return false;
    open.set(address, count + 1);
    socket.once("close", () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
    return true;
  };
}
