import { runMain } from "@invoicer/platform/config";
import { closeGracefully, createDualServer, listen } from "@invoicer/platform/http-server";
import { connectEventBus } from "@invoicer/platform/kafka";
import { createLogger } from "@invoicer/platform/logger";
import { startObservability } from "@invoicer/platform/observability";
import { tracedProducer } from "@invoicer/platform/traced-producer";
import { createServerHandler } from "./app.ts";
import { loadServerConfig } from "./config.ts";
import { openDatabase } from "./db/client.ts";
import { applyMigrations } from "./db/migrate.ts";
import { createInvoiceWatch } from "./invoices/watch.ts";
import { startOutboxRelay } from "./outbox/relay.ts";

await runMain(async () => {
  const config = loadServerConfig(process.env);
  const log = createLogger("server", config.logLevel);
  const observability = startObservability("server", config.tracing);
  const started = Date.now();
  await applyMigrations(config.databaseUrl);
  const database = openDatabase(config.databaseUrl, config.databasePoolSize);
  const watch = createInvoiceWatch(database.sql, log, config.watchKeepAliveMs);
  const bus = connectEventBus({ brokers: config.kafkaBrokers, clientId: "invoicer-server", log: log.child({ component: "kafka" }), retries: 2 });
  const producer = tracedProducer(bus.producer(), observability.tracer);
  // The relay starts even when the broker is down: requests keep succeeding and rows wait.
  const relay = startOutboxRelay({
    sql: database.sql,
    producer,
    topic: config.kafkaTopic,
    ensureTopic: () => bus.ensureTopics([{ topic: config.kafkaTopic, partitions: config.kafkaTopicPartitions }]),
    pollIntervalMs: config.outboxPollMs,
    log: log.child({ component: "outbox-relay" }),
  });
  const shutdown = new AbortController();
  const server = createDualServer(createServerHandler({ config, database, watch, log, observability, shutdownSignal: shutdown.signal }));
  const port = await listen(server, config.port, config.host, "SERVER_PORT");
  log.info({ port, host: config.host, startupMs: Date.now() - started }, "server listening");

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "server stopping");
    shutdown.abort();
    await closeGracefully(server, config.shutdownGraceMs);
    await relay.stop();
    await watch.stop();
    await producer.disconnect();
    await database.close();
    await observability.shutdown();
    log.info("server stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
});
