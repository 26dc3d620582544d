import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import * as http2 from "node:http2";
import type { Http2ServerResponse } from "node:http2";
import { Code } from "@connectrpc/connect";
import type { Logger } from "@invoicer/platform/logger";
import { codeName, Histogram, latencyBuckets, rpcServerMetrics } from "@invoicer/platform/metrics";
import type { Observability } from "@invoicer/platform/observability";
import { failSpan, remoteContext, runInSpan, SpanKind, type Span, type Tracer } from "@invoicer/platform/telemetry";
import { openExchange, type Exchange } from "./exchange.ts";
import { rpcCodeFromStatus } from "./rpc-outcome.ts";

const rpcPath = /^\/((?:invoicer|grpc)\.[\w.]+)\/(\w+)$/;

/** Request methods named in metrics as they are; any other (HTTP/2 allows any token) counts as "other". */
const httpMethods = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** The metrics of requests: RPCs by method and code, the rest by method, route and status. */
interface RequestMetrics {
  rpcs: ReturnType<typeof rpcServerMetrics>;
  http: Histogram<"method" | "route" | "status">;
  /** The procedures the gateway serves: only these are metric labels. */
  procedures: ReadonlySet<string>;
}

/** One request as observeRequests sees it. */
interface Observed {
  req: IncomingMessage;
  res: ServerResponse;
  path: string;
  /** The service and method, for an RPC. */
  rpc: RegExpExecArray | null;
  exchange: Exchange;
  started: number;
}

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
  const requestMetrics: RequestMetrics = {
    rpcs: rpcServerMetrics(metrics),
    http: new Histogram({
      name: "http_server_request_duration_seconds",
      help: "Requests other than RPCs (REST, health, the web app), by method, route and HTTP status.",
      labelNames: ["method", "route", "status"],
      buckets: latencyBuckets,
      registers: [metrics],
    }),
    procedures,
  };
  return (req, res) => {
    const started = performance.now();
    const path = req.url?.split("?", 1)[0] ?? "";
    const rpc = rpcPath.exec(path);
    const parent = remoteContext(req.headers);
    const span = startRequestSpan(tracer, req, path, rpc, parent);
    const exchange = openExchange(req, span);
    res.once("close", () => finish({ req, res, path, rpc, exchange, started }, requestMetrics, log));
    // The request id reaches log lines through Fastify's own binding (requestIdLogLabel).
    runInSpan(span, () => handler(req, res), { parent });
  };
}

function startRequestSpan(
  tracer: Tracer,
  req: IncomingMessage,
  path: string,
  rpc: RegExpExecArray | null,
  parent: ReturnType<typeof remoteContext>,
): Span {
  return tracer.startSpan(
    rpc ? `${rpc[1]}/${rpc[2]}` : (req.method ?? "HTTP"),
    {
      kind: SpanKind.SERVER,
      attributes: rpc
        ? { "rpc.system": rpcSystem(req), "rpc.service": rpc[1], "rpc.method": rpc[2] }
        : { "http.request.method": req.method, "url.path": path },
    },
    parent,
  );
}

/** Once the response is closed: ends the span, records the metrics and writes the log line. */
function finish(observed: Observed, metrics: RequestMetrics, log: Logger): void {
  const { req, res, path, rpc, exchange } = observed;
  const seconds = (performance.now() - observed.started) / 1000;
  const status = res.statusCode;
  const span = exchange.span;
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
  if (rpc) line.code = finishRpc(observed, rpc, cut, metrics, seconds);
  else finishHttp(observed, metrics, seconds);
  span.end();
  log.info({ ...line, ms: Math.round(seconds * 10_000) / 10 }, "request");
}

/** Names an RPC's outcome on its span and in its metrics; returns the code's name. */
function finishRpc({ req, res, path, exchange }: Observed, rpc: RegExpExecArray, cut: boolean, metrics: RequestMetrics, seconds: number) {
  const code = exchange.code ?? (cut ? Code.Canceled : rpcCodeFromStatus(req, res));
  const name = codeName(code === "ok" ? undefined : code);
  exchange.span.setAttribute("rpc.connect_rpc.error_code", name);
  if (code === Code.Internal || code === Code.Unavailable || code === Code.Unknown) failSpan(exchange.span, name);
  const known = metrics.procedures.has(path);
  metrics.rpcs.observe({ rpc_service: known ? rpc[1]! : "unknown", rpc_method: known ? rpc[2]! : "unknown", rpc_code: name }, seconds);
  return name;
}

/** Names a request that is not an RPC by its route, on its span and in its metrics. */
function finishHttp({ req, res, exchange }: Observed, metrics: RequestMetrics, seconds: number): void {
  const status = res.statusCode;
  const route = exchange.route ?? "unmatched";
  exchange.span.updateName(`${req.method} ${route}`);
  exchange.span.setAttribute("http.route", route);
  if (status >= 500) failSpan(exchange.span, `HTTP ${status}`);
  metrics.http.observe({ method: httpMethods.has(req.method ?? "") ? req.method! : "other", route, status: String(status) }, seconds);
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
