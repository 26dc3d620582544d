// What a forwarded call carries to the server: the caller's headers less those for this hop or
// for the gateway alone, its deadline capped, and grpc-message as gRPC clients decode it.
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import type * as http2 from "node:http2";
import type { Http2ServerRequest } from "node:http2";
import { apiKeyHashHeader, internalTokenHeader, tenantHeader } from "@invoicer/platform/internal-auth";

type CallerRequest = IncomingMessage | Http2ServerRequest;

/**
 * Request headers that do not go on: pseudo-headers (made anew), the caller's key and any trust
 * headers it sent (the gateway's replace them), and HTTP/1.1's connection-specific headers, which
 * HTTP/2 forbids (RFC 9113 §8.2.2).
 */
const dropped = new Set([
  ...[":method", ":path", ":authority", ":scheme", "authorization", tenantHeader, internalTokenHeader, apiKeyHashHeader, "tracestate"],
  ...["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host", "expect", "http2-settings"],
]);

/** The caller's headers that may go on to the server, and the gateway's `extraHeaders` over them. */
export function passedOnHeaders(incoming: IncomingHttpHeaders, extraHeaders: Record<string, string>): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  // Headers an HTTP/1.1 caller names in `Connection` are for this hop only (RFC 9110 §7.6.1).
  const hopOnly = incoming.connection ? new Set(incoming.connection.toLowerCase().split(/\s*,\s*/)) : undefined;
  for (const [name, value] of Object.entries(incoming)) if (!dropped.has(name) && !hopOnly?.has(name)) headers[name] = value;
  // HTTP/2 allows `te` only as "trailers" (gRPC sends it; an HTTP/1.1 caller may send others).
  if (headers.te !== undefined) {
    if (/(?:^|,)\s*trailers\s*(?:$|[,;])/i.test(String(headers.te))) headers.te = "trailers";
    else delete headers.te;
  }
  return Object.assign(headers, extraHeaders);
}

/** The request headers for an HTTP/2 stream to the server: the caller's that may go on, and the gateway's `extraHeaders`. */
export function upstreamHeaders(req: CallerRequest, extraHeaders: Record<string, string>): http2.OutgoingHttpHeaders {
  const headers: http2.OutgoingHttpHeaders = { ":method": req.method, ":path": req.url, ...passedOnHeaders(req.headers, extraHeaders) };
  // Node ends a GET's stream at once: a length for a body that never goes would break the call.
  if (req.method === "GET") delete headers["content-length"];
  return headers;
}

/**
 * connect-es percent-encodes grpc-message like a URI component (":" as %3A); the gRPC spec
 * encodes only bytes outside printable ASCII and "%", and grpc-js decodes no more than that.
 */
export function normalizeGrpcMessage<T extends Record<string, unknown>>(headers: T): T {
  const message = headers["grpc-message"];
  if (typeof message !== "string") return headers;
  let text = message;
  try {
    text = decodeURIComponent(message);
  } catch {
    // Not percent-encoded by connect's rules: pass it on as it is.
  }
  const encoded = Array.from(Buffer.from(text, "utf8"), (b) =>
    b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`,
  ).join("");
  return { ...headers, "grpc-message": encoded };
}

const timeoutUnits: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 1e-3, n: 1e-6 };
const grpcFamily = (req: CallerRequest) => /^application\/grpc/i.test(req.headers["content-type"] ?? "");

/** The deadline the caller sent (grpc-timeout, or Connect's connect-timeout-ms), in ms; undefined when none or unreadable. */
function askedMs(req: CallerRequest): number | undefined {
  if (grpcFamily(req)) {
    const grpc = /^(\d{1,8})([HMSmun])$/.exec(String(req.headers["grpc-timeout"] ?? ""));
    return grpc ? Math.ceil(Number(grpc[1]) * timeoutUnits[grpc[2]!]!) : undefined;
  }
  const connect = /^\d{1,10}$/.exec(String(req.headers["connect-timeout-ms"] ?? ""));
  return connect ? Number(connect[0]) : undefined;
}

/** The caller's deadline capped at `capMs`; `capMs` when it sent none. */
export function deadlineMs(req: CallerRequest, capMs: number): number {
  return Math.max(1, Math.min(askedMs(req) ?? capMs, capMs));
}

/**
 * A caller's deadline past the cap reaches the server capped, so the server ends the call itself. A
 * call without one goes on without one, as the caller sent it (the gateway's timer still ends it at
 * the cap); a header the server cannot parse is passed on for it to refuse.
 */
export function withDeadline<H extends http2.OutgoingHttpHeaders>(headers: H, req: CallerRequest, ms: number): H {
  const asked = askedMs(req);
  if (asked === undefined || asked <= ms) return headers;
  const named: Record<string, unknown> = headers;
  if (grpcFamily(req)) named["grpc-timeout"] = `${ms}m`;
  else named["connect-timeout-ms"] = String(ms);
  return headers;
}
