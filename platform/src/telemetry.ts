// The only module that knows the OpenTelemetry SDK; the services use @opentelemetry/api through it.
import {
  context,
  createContextKey,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from "@opentelemetry/api";
import type { Interceptor } from "@connectrpc/connect";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, TracerProvider, type SpanProcessor } from "@opentelemetry/sdk-trace";
import type { envReader } from "./config.ts";

export { SpanKind, type Span, type Tracer };

export interface TracingConfig {
  serviceName: string;
  /** Where OTLP/HTTP traces go; no exporter when unset (spans still carry ids into logs and headers). */
  otlpTracesUrl?: string;
}

/** The standard OTEL_* variables a service honours: the exporter is off unless an endpoint is set. */
export function tracingConfig(e: ReturnType<typeof envReader>, service: string): TracingConfig {
  const disabled = e.optional("OTEL_SDK_DISABLED") === "true";
  const endpoint = e.optional("OTEL_EXPORTER_OTLP_ENDPOINT") && e.url("OTEL_EXPORTER_OTLP_ENDPOINT");
  const tracesUrl = e.optional("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") && e.url("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  const url = tracesUrl || (endpoint && `${endpoint.replace(/\/+$/, "")}/v1/traces`) || undefined;
  return { serviceName: e.string("OTEL_SERVICE_NAME", `invoicer-${service}`), otlpTracesUrl: disabled ? undefined : url };
}

export interface Tracing {
  tracer: Tracer;
  /** Exports what is buffered, then stops. */
  shutdown(): Promise<void>;
}

let contextInstalled = false;

/**
 * A tracer of its own per service, so services sharing a process (the tests) keep their names.
 * Context (AsyncLocalStorage) and the W3C propagator are process-wide and installed once.
 */
export function startTracing(config: TracingConfig, processors: SpanProcessor[] = []): Tracing {
  if (!contextInstalled) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    contextInstalled = true;
  }
  const spanProcessors = [...processors];
  if (config.otlpTracesUrl) spanProcessors.push(new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: config.otlpTracesUrl }) }));
  const provider = new TracerProvider({ resource: resourceFromAttributes({ "service.name": config.serviceName }), spanProcessors });
  return { tracer: provider.getTracer("invoicer"), shutdown: () => provider.shutdown() };
}

type Carrier = Record<string, string | string[] | undefined> | Headers;

const getter = {
  keys: (carrier: Carrier) => (carrier instanceof Headers ? [...carrier.keys()] : Object.keys(carrier)),
  get: (carrier: Carrier, key: string) => (carrier instanceof Headers ? (carrier.get(key) ?? undefined) : carrier[key]),
};

/** The remote parent named by a carrier's `traceparent` (HTTP headers, Kafka headers, an outbox row). */
export function remoteContext(carrier: Carrier): Context {
  return propagation.extract(ROOT_CONTEXT, carrier, getter);
}

/** The `traceparent` (and `tracestate`) that continues `ctx` on the other side of a hop. */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const headers: Record<string, string> = {};
  propagation.inject(ctx, headers);
  return headers;
}

/** The `traceparent` that makes the other side of a hop a child of `span`. */
export function spanHeaders(span: Span): Record<string, string> {
  return traceHeaders(trace.setSpan(ROOT_CONTEXT, span));
}

/** Runs `work` in a new active span, recording a thrown error on it; the span ends when `work` settles. */
export function inSpan<T>(
  tracer: Tracer,
  name: string,
  options: { kind?: SpanKind; attributes?: Attributes; parent?: Context },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  return tracer.startActiveSpan(
    name,
    { kind: options.kind, attributes: options.attributes },
    options.parent ?? context.active(),
    async (span) => {
      try {
        return await work(span);
      } catch (err) {
        failSpan(span, err);
        throw err;
      } finally {
        span.end();
      }
    },
  );
}

export function failSpan(span: Span, err: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

const requestIdKey = createContextKey("invoicer.request_id");

/** Runs `work` with `span` active (a child of `parent`) and, when given, a request id every log line carries. */
export function runInSpan<T>(span: Span, work: () => T, options: { parent?: Context; requestId?: string } = {}): T {
  let ctx = trace.setSpan(options.parent ?? context.active(), span);
  if (options.requestId) ctx = ctx.setValue(requestIdKey, options.requestId);
  return context.with(ctx, work);
}

/** Fields for a log line: the active trace, span and request, when there are any. */
export function logContext(): Record<string, string> {
  const active = context.active();
  const fields: Record<string, string> = {};
  const span = trace.getSpanContext(active);
  if (span) Object.assign(fields, { trace_id: span.traceId, span_id: span.spanId });
  const requestId = active.getValue(requestIdKey);
  if (typeof requestId === "string") fields.request_id = requestId;
  return fields;
}

/** A client span per outgoing RPC, its context sent on in `traceparent`, so the callee continues the trace. */
export function traceCalls(tracer: Tracer): Interceptor {
  return (next) => (req) =>
    inSpan(
      tracer,
      `${req.service.typeName}/${req.method.name}`,
      {
        kind: SpanKind.CLIENT,
        attributes: { "rpc.system": "connect_rpc", "rpc.service": req.service.typeName, "rpc.method": req.method.name },
      },
      async () => {
        for (const [name, value] of Object.entries(traceHeaders())) req.header.set(name, value);
        return next(req);
      },
    );
}
