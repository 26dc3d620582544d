import { runMain } from "@invoicer/platform/config";
import { createDualServer } from "@invoicer/platform/http-server/dual-server";
import { listen } from "@invoicer/platform/http-server/listen";
import { connectEventBus } from "@invoicer/platform/kafka/event-bus";
import { createLogger } from "@invoicer/platform/logger";
import { createMetricsServer } from "@invoicer/platform/metrics";
import { startObservability } from "@invoicer/platform/observability";
import { tracedProducer } from "@invoicer/platform/traced-producer";
import { createServerHandler, drainServer, serverLifecycle } from "./app.ts";
import { loadServerConfig } from "./config.ts";
import { openDatabase } from "./db/client.ts";
import { applyMigrations } from "./db/migrate.ts";
import { watchStaleDocuments } from "./documents/stale-documents.ts";
import { createInvoiceWatch } from "./invoices/watch.ts";
import { listenForOutbox } from "./outbox/notifications.ts";
import { startOutboxRelay } from "./outbox/relay.ts";

await runMain(async () => {
  const config = loadServerConfig(process.env);
  const log = createLogger("server", config.logLevel);
  const observability = startObservability("server", config.tracing);
  const started = Date.now();
  await applyMigrations(config.databaseUrl);
  const database = openDatabase(config.databaseUrl, config.databasePoolSize);
  const notifications = listenForOutbox(config.databaseUrl, log.child({ component: "outbox-listener" }));
  const watch = createInvoiceWatch(database.sql, notifications, log, {
    keepAliveMs: config.watchKeepAliveMs,
    maxPerTenant: config.watchMaxPerTenant,
  });
  const bus = connectEventBus({
    brokers: config.kafkaBrokers,
    clientId: "invoicer-server",
    log: log.child({ component: "kafka" }),
    retries: 2,
  });
  const producer = tracedProducer(bus.producer(), observability.tracer);
  // The relay starts even when the broker is down: requests keep succeeding and rows wait.
  const relay = startOutboxRelay({
    sql: database.sql,
    producer,
    topic: config.kafkaTopic,
    ensureTopic: () => bus.ensureTopics([{ topic: config.kafkaTopic, partitions: config.kafkaTopicPartitions }]),
    maxMessageBytes: () => bus.maxMessageBytes(config.kafkaTopic),
    notifications,
    maxBatchBytes: config.outboxMaxBatchBytes,
    pollIntervalMs: config.outboxPollMs,
    log: log.child({ component: "outbox-relay" }),
  });
  const stopStaleCheck = watchStaleDocuments(database.sql, log, config.documentsStaleAfterMs);
  const lifecycle = serverLifecycle();
  const server = createDualServer(createServerHandler({ config, database, watch, log, observability, lifecycle }));
  const port = await listen(server, config.port, config.host, "SERVER_PORT");
  const metricsServer = createMetricsServer(observability.metrics);
  const metricsPort = await listen(metricsServer, config.metricsPort, config.host, "SERVER_METRICS_PORT");
  log.info({ port, metricsPort, host: config.host, startupMs: Date.now() - started }, "server listening");

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "server stopping: finishing the calls in flight");
    await drainServer(server, watch, lifecycle, config.shutdownGraceMs);
    metricsServer.close();
    stopStaleCheck();
    await relay.stop();
    await watch.stop();
    await notifications.stop();
    await producer.disconnect();
    await database.close();
    await observability.shutdown();
    log.info("server stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
});
