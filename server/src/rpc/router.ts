import { createConnectRouter, type ConnectRouter, type ConnectRouterOptions, type Interceptor } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import type { Logger } from "@invoicer/platform/logger";
import { rpcServerMetrics } from "@invoicer/platform/metrics";
import type { Observability } from "@invoicer/platform/observability";
import { errorBoundary } from "./errors.ts";
import { observeCalls } from "./call-observation.ts";

/**
 * JSON requests are read strictly: invalid UTF-8 is refused rather than stored as U+FFFD, and a
 * field or enum name this server does not know is InvalidArgument, not silently dropped.
 * (connect-es passes `textDecoder` on to its JSON serialization; the router's type omits it.)
 */
const jsonOptions = {
  ignoreUnknownFields: false,
  textDecoder: new TextDecoder("utf-8", { fatal: true }),
} as ConnectRouterOptions["jsonOptions"];

export interface RpcRouterOptions {
  log: Logger;
  observability: Observability;
  /** The largest request message, after decompression. */
  maxMessageBytes: number;
  /** Aborts every handler still running: the end of a shutdown's grace period. */
  cutSignal?: AbortSignal;
  /** Interceptors after the outermost two (observation, the error boundary), such as who may call. */
  interceptors?: Interceptor[];
}

/**
 * The server's Connect router: gRPC, gRPC-web and Connect, gzip and brotli, strict JSON, bounded
 * messages, a span, metrics and a log line per call, and an error boundary that lets no internal
 * detail out. The conformance suite runs against a router made here too.
 */
export function createRpcRouter({ log, observability, maxMessageBytes, cutSignal, interceptors = [] }: RpcRouterOptions): ConnectRouter {
  return createConnectRouter({
    interceptors: [observeCalls(observability.tracer, rpcServerMetrics(observability.metrics), log), errorBoundary(log), ...interceptors],
    readMaxBytes: maxMessageBytes,
    acceptCompression: [compressionGzip, compressionBrotli],
    shutdownSignal: cutSignal,
    jsonOptions,
  });
}
