import * as http2 from "node:http2";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { noteGrpcStatus, type Exchange } from "./observe.ts";

const { HTTP2_HEADER_STATUS, NGHTTP2_CANCEL } = http2.constants;
const dropped = new Set([":method", ":path", ":authority", ":scheme", "authorization", "connection", "host"]);

/**
 * Forwards HTTP/2 calls (gRPC above all) to the server over one shared HTTP/2 session,
 * streaming both ways and passing the response trailers on, which carry gRPC's status.
 * @fastify/reply-from drops trailers, so gRPC cannot go through it.
 */
export function grpcForwarder(serverUrl: string) {
  let session: http2.ClientHttp2Session | undefined;
  const connect = () => {
    if (!session || session.closed || session.destroyed) {
      const fresh = http2.connect(serverUrl);
      fresh.on("error", () => fresh.destroy());
      fresh.on("close", () => session === fresh && (session = undefined));
      fresh.unref();
      session = fresh;
    }
    return session;
  };

  function forward(
    req: Http2ServerRequest,
    res: Http2ServerResponse,
    extraHeaders: Record<string, string>,
    exchange: Exchange | undefined,
  ) {
    const headers: http2.OutgoingHttpHeaders = { ":method": req.method, ":path": req.url };
    for (const [name, value] of Object.entries(req.headers)) if (!dropped.has(name)) headers[name] = value;
    Object.assign(headers, extraHeaders);
    const upstream = connect().request(headers);
    req.pipe(upstream);
    req.on("close", () => !upstream.closed && upstream.close(NGHTTP2_CANCEL));
    upstream.on("response", (responseHeaders) => {
      const { [HTTP2_HEADER_STATUS]: status, ...rest } = responseHeaders;
      for (const name of Object.keys(rest)) if (name.startsWith(":")) delete rest[name];
      noteGrpcStatus(exchange, rest["grpc-status"]); // a trailers-only response
      res.writeHead(Number(status), normalizeGrpcMessage(rest));
      upstream.pipe(res);
    });
    upstream.on("trailers", (trailers) => {
      noteGrpcStatus(exchange, trailers["grpc-status"]);
      res.addTrailers(normalizeGrpcMessage(trailers));
    });
    upstream.on("error", () => {
      noteGrpcStatus(exchange, Code.Unavailable);
      if (!res.headersSent) {
        const status = setTrailerStatus(new Headers(), new ConnectError("server unavailable", Code.Unavailable));
        const headers = normalizeGrpcMessage({
          "content-type": req.headers["content-type"] ?? "application/grpc",
          ...Object.fromEntries(status),
        });
        res.writeHead(200, headers);
        res.end();
      } else {
        res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      }
    });
  }
  forward.close = () => session?.close();
  return forward;
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
