import { Counter, Gauge, Histogram, type Registry } from "@invoicer/platform/metrics";

export type WorkerMetrics = ReturnType<typeof consumerMetrics>;

/** What an operator watches on a document consumer: progress, failures, render time and lag. */
export function consumerMetrics(registry: Registry) {
  const registers = [registry];
  return {
    processed: new Counter({
      name: "invoicer_consumer_events_processed_total",
      help: "Events handled and committed, by outcome: attached, already_attached (a redelivery) or skipped (no document needed).",
      labelNames: ["outcome"],
      registers,
    }),
    failed: new Counter({
      name: "invoicer_consumer_attempts_failed_total",
      help: "Render or attach attempts that failed and were retried or dead-lettered, by whether the cause was transient.",
      labelNames: ["transient"],
      registers,
    }),
    deadLettered: new Counter({
      name: "invoicer_consumer_dead_lettered_total",
      help: "Events sent to the dead-letter topic.",
      registers,
    }),
    renderSeconds: new Histogram({
      name: "invoicer_render_duration_seconds",
      help: "Time to render one invoice's documents (PDF and DOCX).",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    lag: new Gauge({
      name: "invoicer_consumer_lag",
      help: "Messages in the partition after the last one this member committed (high watermark minus committed offset).",
      labelNames: ["topic", "partition"],
      registers,
    }),
  };
}
