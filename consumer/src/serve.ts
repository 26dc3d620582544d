import { createServer } from "node:http";
import { connectEventBus } from "@invoicer/platform/kafka/event-bus";
import { createLogger } from "@invoicer/platform/logger";
import { listen } from "@invoicer/platform/http-server/listen";
import { isMetricsScrape, sendMetrics } from "@invoicer/platform/metrics";
import { startObservability } from "@invoicer/platform/observability";
import { startDocumentConsumer, type DocumentConsumer } from "./app.ts";
import { loadConsumerConfig } from "./config.ts";
import type { DocumentWorkerDeps } from "./document-worker.ts";

/** The consumer process: config from `env`, a health endpoint, the group member, SIGTERM handling. */
export async function serveConsumer(env: Record<string, string | undefined>, render?: DocumentWorkerDeps["render"]) {
  const config = loadConsumerConfig(env);
  const log = createLogger("consumer", config.logLevel);
  const observability = startObservability("consumer", config.tracing);
  const started = Date.now();
  // Assigned once the group is joined, after /readyz starts answering (which reads it).
  // eslint-disable-next-line prefer-const
  let consumer: DocumentConsumer | undefined;
  // /healthz: the process is up; /readyz: it is a member of the consumer group; /metrics for Prometheus.
  const health = createServer((req, res) => {
    if (isMetricsScrape(req)) return void sendMetrics(observability.metrics, res);
    const ok = req.url === "/healthz" || (req.url === "/readyz" && consumer !== undefined);
    res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" }).end(ok ? "ok\n" : "not ready\n");
  });
  await listen(health, config.healthPort, config.healthHost, "CONSUMER_HEALTH_PORT");
  const bus = connectEventBus({ brokers: config.kafkaBrokers, clientId: "invoicer-consumer", log: log.child({ component: "kafka" }) });
  consumer = await startDocumentConsumer(config, bus, log, observability, render);
  log.info({ group: config.groupId, topic: config.kafkaTopic, startupMs: Date.now() - started }, "consumer running");

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "consumer stopping");
    await consumer?.stop();
    health.close();
    await observability.shutdown();
    log.info("consumer stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}
