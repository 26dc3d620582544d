import { ConfigError, envReader } from "@invoicer/platform/config";
import { tracingConfig, type TracingConfig } from "@invoicer/platform/telemetry";
import type { ReadBudget } from "./rpc/read-budget.ts";

export interface ServerConfig {
  logLevel: string;
  tracing: TracingConfig;
  host: string;
  port: number;
  /** Where GET /metrics is answered, apart from the RPC port, so scrapers need not reach the RPCs. */
  metricsPort: number;
  databaseUrl: string;
  databasePoolSize: number;
  internalToken: string;
  /** The consumer's credential: it may attach documents and call nothing else. */
  consumerToken: string;
  maxMessageBytes: number;
  shutdownGraceMs: number;
  kafkaBrokers: string[];
  kafkaTopic: string;
  kafkaTopicPartitions: number;
  outboxPollMs: number;
  outboxMaxBatchBytes: number;
  watchKeepAliveMs: number;
  watchMaxPerTenant: number;
  maxCallsPerTenant: number;
  /** Of those, how many run at once; the next wait their turn. */
  maxRunningCallsPerTenant: number;
  /** Invoice lines one tenant's answers may carry per second (and at once) on one server. */
  readLines: ReadBudget;
  documentsStaleAfterMs: number;
}

/** Every variable the server reads; docs/operations.md's configuration table lists the same. */
export function loadServerConfig(env: Record<string, string | undefined>): ServerConfig {
  const e = envReader(env);
  const databasePoolSize = e.int("DATABASE_POOL_SIZE", 20, 1, 500);
  return {
    logLevel: e.logLevel(),
    tracing: tracingConfig(e, "server"),
    host: e.string("SERVER_HOST", "127.0.0.1"),
    port: e.port("SERVER_PORT", 8081),
    metricsPort: e.port("SERVER_METRICS_PORT", 8083),
    databaseUrl: e.url("DATABASE_URL"),
    databasePoolSize,
    internalToken: e.secret("INTERNAL_TOKEN"),
    consumerToken: consumerToken(e),
    maxMessageBytes: e.int("MAX_MESSAGE_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024),
    shutdownGraceMs: e.int("SHUTDOWN_GRACE_MS", 10_000, 0, 600_000),
    kafkaBrokers: e.brokers("KAFKA_BROKERS"),
    kafkaTopic: e.string("KAFKA_TOPIC", "invoice-events"),
    kafkaTopicPartitions: e.int("KAFKA_TOPIC_PARTITIONS", 3, 1, 1000),
    outboxPollMs: e.int("OUTBOX_POLL_MS", 5_000, 50, 600_000),
    outboxMaxBatchBytes: e.int("OUTBOX_MAX_BATCH_BYTES", 512 * 1024, 16 * 1024, 64 * 1024 * 1024),
    watchKeepAliveMs: e.int("WATCH_KEEPALIVE_MS", 15_000, 100, 600_000),
    watchMaxPerTenant: e.int("WATCH_MAX_PER_TENANT", 100, 1, 100_000),
    // DATABASE_POOL_SIZE's default: one tenant queues at most a pool's worth of calls (10 refused calls in a rolling restart).
    maxCallsPerTenant: e.int("MAX_CALLS_PER_TENANT", 20, 1, 100_000),
    // Half the pool: one tenant never takes the connections the others need (decision 0008).
    maxRunningCallsPerTenant: e.int("MAX_RUNNING_CALLS_PER_TENANT", Math.max(1, Math.floor(databasePoolSize / 2)), 1, 100_000),
    // Two pages of 1,000 lines a second, ten at once: a tenant listing 5 MB pages without end took whole cores (decision 0008).
    readLines: {
      perSecond: e.int("READ_LINES_PER_SECOND_PER_TENANT", 2_000, 1, 100_000_000),
      burst: e.int("READ_LINES_BURST_PER_TENANT", 10_000, 1_000, 100_000_000),
    },
    documentsStaleAfterMs: documentsStaleAfterMs(e),
  };
}

/** DOCUMENTS_STALE_AFTER_MS: how long documents may take before they are overdue (the outbox CLI reads it too). */
export function documentsStaleAfterMs(e: ReturnType<typeof envReader>): number {
  return e.int("DOCUMENTS_STALE_AFTER_MS", 600_000, 1_000, 7 * 24 * 3_600_000);
}

/** CONSUMER_TOKEN, which must differ from INTERNAL_TOKEN: the same secret would give the consumer the gateway's powers. */
function consumerToken(e: ReturnType<typeof envReader>): string {
  const token = e.secret("CONSUMER_TOKEN");
  if (token === e.secret("INTERNAL_TOKEN")) throw new ConfigError("CONSUMER_TOKEN must differ from INTERNAL_TOKEN");
  return token;
}
