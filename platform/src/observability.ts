import type { SpanProcessor } from "@opentelemetry/sdk-trace";
import { createMetricsRegistry, type Registry } from "./metrics.ts";
import { startTracing, type Tracer, type TracingConfig } from "./telemetry.ts";

/** What a service reports through: its tracer and its Prometheus registry. */
export interface Observability {
  tracer: Tracer;
  metrics: Registry;
  /** Exports the spans still buffered. */
  shutdown(): Promise<void>;
}

export function startObservability(service: string, tracing: TracingConfig, spanProcessors: SpanProcessor[] = []): Observability {
  const { tracer, shutdown } = startTracing(tracing, spanProcessors);
  return { tracer, metrics: createMetricsRegistry(service), shutdown };
}
