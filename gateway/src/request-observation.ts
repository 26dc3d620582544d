import { randomUUID } from "node:crypto";
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import * as http2 from "node:http2";
import type { Http2ServerResponse } from "node:http2";
import { Code } from "@connectrpc/connect";
import { codeFromHttpStatus } from "@connectrpc/connect/protocol-connect";
import type { Logger } from "@invoicer/platform/logger";
import { codeName, Histogram, latencyBuckets, rpcCodeHeader, rpcServerMetrics } from "@invoicer/platform/metrics";
import type { Observability } from "@invoicer/platform/observability";
import { failSpan, remoteContext, runInSpan, spanHeaders, SpanKind, type Span } from "@invoicer/platform/telemetry";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";

declare module "fastify" {
  interface FastifyRequest {
    /** What observeRequests notes about this request; undefined for requests it did not see (inject()). */
    readonly exchange: Exchange | undefined;
  }
}

/** What the gateway notes about one request while Fastify and the forwarders handle it. */
export interface Exchange {
  span: Span;
  requestId: string;
  /** Set by whoever learns the RPC outcome first: an error the gateway sent, or the server's trailers. */
  code?: Code | "ok";
  /** The Fastify route pattern, for requests that are not RPCs. */
  route?: string;
}

// Beside the raw request, not on Fastify's: the span and request id exist before Fastify sees it, and the log line is written after.
const exchanges = new WeakMap<IncomingMessage, Exchange>();

/** The exchange observeRequests opened for a raw request. */
export const exchangeOf = (raw: IncomingMessage): Exchange | undefined => exchanges.get(raw);

/** A caller's request id is kept when it is a sane token, so logs join up across systems. */
const sane = /^[\w.:-]{1,128}$/;

/** `traceparent` continuing this request's span, and its request id, for the call to the server. */
export function upstreamHeaders(exchange: Exchange | undefined): Record<string, string> {
  if (!exchange) return {};
  return { ...spanHeaders(exchange.span), "x-request-id": exchange.requestId };
}

const rpcPath = /^\/((?:invoicer|grpc)\.[\w.]+)\/(\w+)$/;

/** Request methods named in metrics as they are; any other (HTTP/2 allows any token) counts as "other". */
const httpMethods = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/**
 * Wraps the gateway's request handler: a server span per request continuing the caller's trace,
 * RPC metrics by method and code (HTTP metrics for the rest) and one log line per request. Only the
 * `procedures` the gateway serves are metric labels; other paths, which anyone can make up, count
 * as "unknown", so the number of series stays bounded.
 */
export function observeRequests(
  handler: RequestListener,
  { tracer, metrics }: Observability,
  log: Logger,
  procedures: ReadonlySet<string>,
): RequestListener {
  const rpcs = rpcServerMetrics(metrics);
  const http = new Histogram({
    name: "http_server_request_duration_seconds",
    help: "Requests other than RPCs (REST, health, the web app), by method, route and HTTP status.",
    labelNames: ["method", "route", "status"],
    buckets: latencyBuckets,
    registers: [metrics],
  });
  return (req, res) => {
    const started = performance.now();
    const path = req.url?.split("?", 1)[0] ?? "";
    const rpc = rpcPath.exec(path);
    const parent = remoteContext(req.headers);
    const span = tracer.startSpan(
      rpc ? `${rpc[1]}/${rpc[2]}` : (req.method ?? "HTTP"),
      {
        kind: SpanKind.SERVER,
        attributes: rpc
          ? { "rpc.system": rpcSystem(req), "rpc.service": rpc[1], "rpc.method": rpc[2] }
          : { "http.request.method": req.method, "url.path": path },
      },
      parent,
    );
    const incoming = req.headers["x-request-id"];
    const exchange: Exchange = { span, requestId: typeof incoming === "string" && sane.test(incoming) ? incoming : randomUUID() };
    exchanges.set(req, exchange);
    res.once("close", () => {
      const seconds = (performance.now() - started) / 1000;
      const status = res.statusCode;
      const line: Record<string, unknown> = {
        request_id: exchange.requestId,
        trace_id: span.spanContext().traceId,
        method: req.method,
        path,
        status,
      };
      span.setAttribute("http.response.status_code", status);
      // A response cut off before it finished (the client left, or an upstream failed mid-stream).
      const cut = !res.writableFinished || streamReset(res);
      if (cut) line.aborted = true;
      if (rpc) {
        const code = exchange.code ?? (cut ? Code.Canceled : rpcCode(req, res));
        line.code = codeName(code === "ok" ? undefined : code);
        span.setAttribute("rpc.connect_rpc.error_code", line.code as string);
        if (code === Code.Internal || code === Code.Unavailable || code === Code.Unknown) failSpan(span, line.code);
        const known = procedures.has(path);
        rpcs.observe(
          { rpc_service: known ? rpc[1]! : "unknown", rpc_method: known ? rpc[2]! : "unknown", rpc_code: line.code as string },
          seconds,
        );
      } else {
        const route = exchange.route ?? "unmatched";
        span.updateName(`${req.method} ${route}`);
        span.setAttribute("http.route", route);
        if (status >= 500) failSpan(span, `HTTP ${status}`);
        http.observe({ method: httpMethods.has(req.method ?? "") ? req.method! : "other", route, status: String(status) }, seconds);
      }
      span.end();
      log.info({ ...line, ms: Math.round(seconds * 10_000) / 10 }, "request");
    });
    // The request id reaches log lines through Fastify's own binding (requestIdLogLabel).
    runInSpan(span, () => handler(req, res), { parent });
  };
}

/**
 * The exchange as `request.exchange`, and what Fastify learns for it: the route pattern (which names
 * non-RPC spans and metrics) and the RPC outcome a response carries in its headers.
 */
export const requestObservation = fp(
  async function requestObservation(app: FastifyInstance) {
    app.decorateRequest("exchange", {
      getter(this: FastifyRequest) {
        return exchangeOf(this.raw);
      },
    });
    app.addHook("onRequest", noteRoute);
    app.addHook("onSend", noteSentStatus);
  },
  { name: "request-observation" },
);

function noteRoute(request: FastifyRequest, _reply: FastifyReply, done: () => void): void {
  const exchange = request.exchange;
  if (exchange) exchange.route = request.routeOptions.url;
  done();
}

function noteSentStatus(request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void): void {
  noteResponseCode(request.exchange, reply.getHeaders());
  done(null, payload);
}

/** The gRPC status of a trailers-only response, or the code the server named in `invoicer-rpc-code` (a Connect error's body is not read). */
export function noteResponseCode(exchange: Exchange | undefined, headers: Record<string, unknown>): void {
  noteGrpcStatus(exchange, headers["grpc-status"]);
  const code = headers[rpcCodeHeader];
  if (exchange && exchange.code === undefined && typeof code === "string") exchange.code = codeFromName(code);
}

/** Records the RPC outcome from a grpc-status value (headers of a trailers-only response, or trailers). */
export function noteGrpcStatus(exchange: Exchange | undefined, value: unknown): void {
  if (!exchange || value === undefined || value === null) return;
  const status = Number(value);
  exchange.code = status === 0 ? "ok" : (status as Code);
}

function codeFromName(name: string): Code | "ok" {
  const code = Object.values(Code).find((c) => typeof c === "number" && codeName(c) === name);
  return typeof code === "number" ? code : Code.Unknown;
}

/** An HTTP/2 stream reset with an error (the caller cancelled, or the gateway cut it): its response did not finish. */
function streamReset(res: ServerResponse): boolean {
  const code = (res as unknown as Partial<Http2ServerResponse>).stream?.rstCode;
  return code !== undefined && code !== http2.constants.NGHTTP2_NO_ERROR;
}

function rpcSystem(req: IncomingMessage): string {
  const type = req.headers["content-type"] ?? "";
  return type.startsWith("application/grpc-web") ? "grpc_web" : type.startsWith("application/grpc") ? "grpc" : "connect_rpc";
}

/** The outcome when nobody noted one: from the HTTP status (a 200 gRPC-web or Connect stream counts as ok). */
function rpcCode(req: IncomingMessage, res: ServerResponse): Code | "ok" {
  if (res.statusCode === 200) return "ok";
  return /^application\/grpc/.test(req.headers["content-type"] ?? "") ? Code.Unknown : codeFromHttpStatus(res.statusCode);
}
