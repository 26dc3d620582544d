import { randomUUID } from "node:crypto";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "@invoicer/platform/logger";
import { codeName, rpcCodeHeader, type RpcMetrics } from "@invoicer/platform/metrics";
import { failSpan, remoteContext, runInSpan, SpanKind, type Tracer } from "@invoicer/platform/telemetry";

/** Codes that mean the server failed, not the caller: only these mark the span as an error. */
const serverFaults = new Set([Code.Unknown, Code.Internal, Code.Unavailable, Code.DataLoss, Code.DeadlineExceeded, Code.Unimplemented]);

/**
 * The outermost interceptor: a server span continuing the caller's trace, the RPC metrics and one
 * log line per call; the gateway's request id (or a new one) tags every line logged meanwhile.
 */
export function observeCalls(tracer: Tracer, metrics: RpcMetrics, log: Logger): Interceptor {
  return (next) => async (req) => {
    const started = performance.now();
    const labels = { rpc_service: req.service.typeName, rpc_method: req.method.name };
    const parent = remoteContext(req.header);
    const requestId = req.header.get("x-request-id") ?? randomUUID();
    const span = tracer.startSpan(
      `${labels.rpc_service}/${labels.rpc_method}`,
      {
        kind: SpanKind.SERVER,
        attributes: { "rpc.system": "connect_rpc", "rpc.service": labels.rpc_service, "rpc.method": labels.rpc_method },
      },
      parent,
    );
    const finish = (err?: unknown) => {
      const code = err === undefined ? undefined : ConnectError.from(err).code;
      const rpc_code = codeName(code);
      span.setAttribute("rpc.connect_rpc.error_code", rpc_code);
      if (code !== undefined && serverFaults.has(code)) failSpan(span, err);
      span.end();
      const seconds = (performance.now() - started) / 1000;
      metrics.observe({ ...labels, rpc_code }, seconds);
      // Explicit ids: a stream ends outside the call's context.
      const ids = { request_id: requestId, trace_id: span.spanContext().traceId };
      log.info({ ...ids, rpc: `${labels.rpc_service}/${labels.rpc_method}`, code: rpc_code, ms: Math.round(seconds * 10_000) / 10 }, "rpc");
    };
    return runInSpan(
      span,
      async () => {
        try {
          const res = await next(req);
          if (!res.stream) return (finish(), res);
          const messages = res.message;
          return {
            ...res,
            message: (async function* () {
              let failure: unknown;
              try {
                yield* messages;
              } catch (err) {
                throw (failure = err);
              } finally {
                finish(failure); // also when the client went away and the stream was returned early
              }
            })(),
          };
        } catch (err) {
          finish(err);
          // The code as a header too: a proxy (the gateway's metrics) cannot read a Connect error's body.
          if (err instanceof ConnectError) err.metadata.set(rpcCodeHeader, codeName(err.code));
          throw err;
        }
      },
      { parent, requestId },
    );
  };
}
