import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import * as http2 from "node:http2";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { Code } from "@connectrpc/connect";
import { internalTokenHeader, tenantHeader } from "@invoicer/platform/internal-auth";
import type { Logger } from "@invoicer/platform/logger";
import { noteGrpcStatus, noteResponseCode, type Exchange } from "./observe.ts";

const { HTTP2_HEADER_STATUS, NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR, NGHTTP2_NO_ERROR } = http2.constants;

/**
 * Request headers that do not go on: pseudo-headers (made anew), the caller's key and any trust
 * headers it sent (the gateway's replace them), and HTTP/1.1's connection-specific headers, which
 * HTTP/2 forbids (RFC 9113 §8.2.2).
 */
const dropped = new Set([
  ...[":method", ":path", ":authority", ":scheme", "authorization", tenantHeader, internalTokenHeader, "tracestate"],
  ...["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host", "expect", "http2-settings"],
]);

type CallerRequest = IncomingMessage | Http2ServerRequest;
type CallerResponse = ServerResponse | Http2ServerResponse;

/** Who answers the caller: the forwarder once the server's response begins, the caller of `forward` when it never does. */
export interface ForwardedAnswer {
  /** The server's response headers came: the forwarder writes the caller's response from now on, with these headers of the gateway's (CORS, limits). */
  answering(): Record<string, number | string | string[] | undefined>;
  /** The server failed before its response headers: answer the caller in its protocol. */
  unreachable(err: Error): void;
}

/**
 * Forwards calls of either HTTP version to the server over one shared HTTP/2 session, streaming
 * both ways. HTTP/2 callers (gRPC above all) get the response trailers, which carry gRPC's status;
 * HTTP/1.1 callers (Connect, gRPC-web) have theirs in the body. @fastify/reply-from drops trailers
 * and cost a gRPC-web call twice the CPU of this (README: Performance).
 */
export function rpcForwarder(serverUrl: string, log: Pick<Logger, "warn">) {
  let session: http2.ClientHttp2Session | undefined;
  const connect = () => {
    if (!session || session.closed || session.destroyed) {
      const fresh = http2.connect(serverUrl);
      // Every forwarded call of this gateway rides on this session: its end is worth a line.
      fresh.on("goaway", (code) => code !== NGHTTP2_NO_ERROR && log.warn({ http2Code: code }, "the server ended the session (GOAWAY)"));
      fresh.on("error", (err) => {
        log.warn({ err }, "the session to the server failed");
        fresh.destroy();
      });
      fresh.on("close", () => session === fresh && (session = undefined));
      fresh.unref();
      session = fresh;
    }
    return session;
  };

  function forward(
    req: CallerRequest,
    res: CallerResponse,
    extraHeaders: Record<string, string>,
    exchange: Exchange | undefined,
    answer: ForwardedAnswer,
  ) {
    // The caller left while the gateway checked its key: nothing to forward, nobody to answer.
    if (callerGone(req, res)) return;
    let upstream: http2.ClientHttp2Stream;
    try {
      upstream = connect().request(upstreamHeaders(req, extraHeaders));
    } catch (err) {
      return answer.unreachable(err as Error); // the session is going away, or a header HTTP/2 cannot carry
    }
    req.pipe(upstream);
    // The server answered without reading the whole body: the rest is read and dropped, or the caller's
    // HTTP/1.1 connection stalls behind it (pipe pauses the request when the upstream closes).
    upstream.once("close", () => req.complete || req.unpipe(upstream).resume());
    // The caller went away before the answer was through: the server's work stops too.
    res.once("close", () => !upstream.closed && !upstream.readableEnded && upstream.close(NGHTTP2_CANCEL));
    upstream.on("response", (responseHeaders) => {
      const { [HTTP2_HEADER_STATUS]: status, ...rest } = responseHeaders;
      for (const name of Object.keys(rest)) if (name.startsWith(":")) delete rest[name];
      noteResponseCode(exchange, rest);
      (res as ServerResponse).writeHead(Number(status), { ...normalizeGrpcMessage(rest), ...answer.answering() });
      upstream.pipe(res as NodeJS.WritableStream);
    });
    upstream.on("trailers", (trailers) => {
      noteGrpcStatus(exchange, trailers["grpc-status"]);
      if (req.httpVersionMajor === 2) (res as Http2ServerResponse).addTrailers(normalizeGrpcMessage(trailers));
    });
    upstream.on("error", (err) => {
      if (callerGone(req, res)) return;
      noteGrpcStatus(exchange, Code.Unavailable);
      if (!res.headersSent) return answer.unreachable(err);
      if (req.httpVersionMajor === 2) (res as Http2ServerResponse).stream.close(NGHTTP2_INTERNAL_ERROR);
      else res.destroy();
    });
  }
  forward.close = () => session?.close();
  return forward;
}

const callerGone = (req: CallerRequest, res: CallerResponse) =>
  req.httpVersionMajor === 2
    ? (res as Http2ServerResponse).stream.destroyed || (res as Http2ServerResponse).stream.closed
    : (res as ServerResponse).destroyed;

function upstreamHeaders(req: CallerRequest, extraHeaders: Record<string, string>): http2.OutgoingHttpHeaders {
  const headers: http2.OutgoingHttpHeaders = { ":method": req.method, ":path": req.url };
  const incoming = req.headers as IncomingHttpHeaders;
  // Headers an HTTP/1.1 caller names in `Connection` are for this hop only (RFC 9110 §7.6.1).
  const hopOnly = incoming.connection ? new Set(incoming.connection.toLowerCase().split(/\s*,\s*/)) : undefined;
  for (const [name, value] of Object.entries(incoming)) if (!dropped.has(name) && !hopOnly?.has(name)) headers[name] = value;
  // HTTP/2 allows `te` only as "trailers" (gRPC sends it; an HTTP/1.1 caller may send others).
  if (headers.te !== undefined) {
    if (/(?:^|,)\s*trailers\s*(?:$|[,;])/i.test(String(headers.te))) headers.te = "trailers";
    else delete headers.te;
  }
  // Node ends a GET's stream at once: a length for a body that never goes would break the call.
  if (req.method === "GET") delete headers["content-length"];
  return Object.assign(headers, extraHeaders);
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
