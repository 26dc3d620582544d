import * as http from "node:http";
import * as http2 from "node:http2";
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
 * An HTTP server that speaks HTTP/1.1 and cleartext HTTP/2 (prior knowledge) on one port:
 * browsers use HTTP/1.1, gRPC clients open HTTP/2. It looks at a connection's first bytes,
 * which for HTTP/2 are the fixed preface "PRI * HTTP/2.0".
 */
export function createDualServer(handler: http.RequestListener, limits: ConnectionLimits = internalConnectionLimits): http.Server {
  // HTTP/1.1 responses not yet sent: when the server drains, they close their connection.
  const unsent = new Set<http.ServerResponse>();
  let draining = false;
  const h1 = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      // A whole request body must arrive within this; responses (streams) are not bound by it.
      requestTimeout: Math.max(30_000, limits.headersTimeoutMs),
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
    },
    (req, res) => {
      // A request pipelined behind an answer that closed the connection is not run: its answer could not be sent.
      if (req.socket.writableEnded) return void req.resume();
      // Answered before the whole body came: read the rest and drop it (see lingerBeforeClosing).
      res.once("finish", () => req.complete || req.resume());
      if (draining) res.shouldKeepAlive = false;
      else {
        unsent.add(res);
        res.once("finish", () => unsent.delete(res)).once("close", () => unsent.delete(res));
      }
      handler(req, res);
    },
  );
  h1.timeout = limits.idleTimeoutMs;
  // The handler must cope with both kinds of request, as Connect's and Fastify's do.
  const h2Options: http2.ServerOptions = {
    settings: { maxConcurrentStreams: limits.maxStreamsPerConnection },
    ...(limits.streamResets && { streamResetBurst: limits.streamResets.burst, streamResetRate: limits.streamResets.perSecond }),
    ...(limits.maxHeaderListPairs && { maxHeaderListPairs: limits.maxHeaderListPairs }),
    ...(limits.maxSessionMemoryMb && { maxSessionMemory: limits.maxSessionMemoryMb }),
  };
  const h2 = http2.createServer(h2Options, (req, res) => {
    stopUploadOnceAnswered(req.stream);
    (handler as unknown as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void)(req, res);
  });
  h2.setTimeout(limits.idleTimeoutMs);
  const sessions = new Set<http2.Http2Session>();
  h2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  const admit = perAddressLimit(limits.maxConnectionsPerAddress, limits.trustedProxy);
  const [serveHttp1] = h1.listeners("connection") as ((socket: Socket) => void)[];
  h1.removeAllListeners("connection");
  h1.on("connection", (socket: Socket) => {
    if (!admit(socket)) return void socket.destroy();
    // Until its first bytes arrive a connection belongs to neither server, so neither times it out.
    socket.setTimeout(limits.headersTimeoutMs, () => socket.destroy());
    socket.once("readable", () => {
      socket.setTimeout(0);
      const head: Buffer | null = socket.read();
      // Closed before sending anything (or timed out above): nothing to serve.
      if (!head || socket.destroyed) return void socket.destroy();
      socket.unshift(head);
      if (head.subarray(0, 4).toString("latin1") === "PRI ") h2.emit("connection", socket);
      else serveHttp1!.call(h1, lingerBeforeClosing(socket, limits.closeLingerMs));
    });
  });
  const close = h1.close.bind(h1);
  // Closing the server also asks every HTTP/2 session to finish its open streams and go away.
  h1.close = (callback?: (err?: Error) => void) => {
    for (const session of sessions) session.close();
    return close(callback);
  };
  (h1 as Drainable)[drainKey] = (callback) => {
    draining = true;
    for (const res of unsent) if (!res.headersSent) res.shouldKeepAlive = false;
    for (const session of sessions) session.close();
    // net.Server's close: stop accepting. http.Server's would also cut idle keep-alive connections at
    // once, racing a request a client is sending on one; they close after their next answer instead.
    net.Server.prototype.close.call(h1, () => callback());
  };
  const closeAll = h1.closeAllConnections.bind(h1);
  h1.closeAllConnections = () => {
    for (const session of sessions) session.destroy();
    closeAll();
  };
  return h1;
}

/** How long an answered HTTP/2 stream may wait for its last frame to leave before the reset goes anyway. */
const maxWaitForSentMs = 2_000;

/**
 * Once an HTTP/2 stream's answer is sent, a client still uploading (say, a message over the size
 * limit, answered early) is told to stop with RST_STREAM(NO_ERROR) (RFC 9113 §8.1). Otherwise a
 * client whose flow-control window is full waits for ever, and Node keeps the stream, its session
 * and its socket until the unread data is read, which nothing will do, even after the client hangs
 * up. The reset goes only after the answer's last frame left, or it could overtake it.
 */
function stopUploadOnceAnswered(stream: http2.ServerHttp2Stream): void {
  stream.once("finish", () => {
    const finished = Date.now();
    // The wait doubles from 1 ms (to 64 ms): a client that reads its answer slowly costs a dozen checks, not thousands.
    let wait = 1;
    const resetWhenSent = () => {
      if (stream.closed || stream.destroyed || stream.readableEnded) return;
      if (stream.state?.localClose !== 1 && Date.now() - finished <= maxWaitForSentMs) {
        setTimeout(resetWhenSent, wait);
        wait = Math.min(wait * 2, 64);
        return;
      }
      stream.close(http2.constants.NGHTTP2_NO_ERROR);
      // Node frees a stream closed without error only once its unread data is read: discard it.
      stream.destroy();
    };
    resetWhenSent();
  });
}

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
function perAddressLimit(max: number, trustedProxy: (address: string) => boolean = () => false): (socket: Socket) => boolean {
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

/** Listens, turning a taken port into one line that names the variable to change. */
export function listen(server: http.Server, port: number, host: string, portVariable: string): Promise<number> {
  return new Promise((ok, fail) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      fail(err.code === "EADDRINUSE" ? new Error(`port ${port} is already in use; set ${portVariable} to another port`) : err),
    );
    server.listen(port, host, () => ok((server.address() as { port: number }).port));
  });
}

const drainKey = Symbol("drain");
type Drainable = http.Server & { [drainKey]?: (callback: () => void) => void };

/**
 * Stops accepting connections and waits, at most `graceMs`, until every connection has closed:
 * open requests finish, HTTP/2 clients get GOAWAY, and each HTTP/1.1 connection closes after its
 * next answer (Connection: close) or once idle for the keep-alive timeout, so that no request a
 * client sends on a kept-alive connection meets a closed socket. Then the rest are cut.
 */
export function closeGracefully(server: http.Server, graceMs: number): Promise<void> {
  return new Promise((done) => {
    const force = setTimeout(() => {
      server.closeAllConnections();
      done();
    }, graceMs);
    force.unref();
    const finished = () => {
      clearTimeout(force);
      done();
    };
    const drain = (server as Drainable)[drainKey];
    if (drain) return drain(finished);
    server.close(finished);
    server.closeIdleConnections();
  });
}

/**
 * Closing a socket while request bytes still arrive makes the kernel answer them with a reset,
 * which discards the answer the client has not read yet: an early answer (415, 413) over HTTP/1.1
 * reached the conformance suite's client as "broken pipe". So the close Node makes after a
 * `Connection: close` answer half-closes, reads on (the request drops what comes), and closes when
 * the client has sent everything or after `lingerMs`, whichever is first.
 */
function lingerBeforeClosing(socket: Socket, lingerMs = 2_000): Socket {
  socket.destroySoon = () => {
    if (socket.writable) socket.end();
    // The client has sent everything already: close as Node would, once the answer is out.
    if (socket.readableEnded) return void (socket.writableFinished ? socket.destroy() : socket.once("finish", () => socket.destroy()));
    const timer = setTimeout(() => socket.destroy(), lingerMs).unref();
    socket.once("close", () => clearTimeout(timer)).once("end", () => socket.destroy());
  };
  return socket;
}
