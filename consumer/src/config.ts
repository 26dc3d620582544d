import { envReader } from "@invoicer/platform/config";
import { tracingConfig, type TracingConfig } from "@invoicer/platform/telemetry";

export interface ConsumerConfig {
  logLevel: string;
  tracing: TracingConfig;
  kafkaBrokers: string[];
  kafkaTopic: string;
  kafkaTopicPartitions: number;
  deadLetterTopic: string;
  groupId: string;
  /** The server: each URL's host is resolved to every address, and each AttachDocuments goes to the less busy of two. */
  serverUrls: string[];
  /** How often the server's names are resolved again and each endpoint's health is checked. */
  serverRefreshMs: number;
  /** The consumer's own credential at the server (CONSUMER_TOKEN): it may attach documents, nothing else. */
  consumerToken: string;
  attempts: number;
  retryBackoffMs: number;
  /** Worker threads rendering documents, so renders at once. */
  renderWorkers: number;
  /** Events of one partition in hand at once: rendering, waiting for a render thread, or being attached. */
  eventsInFlight: number;
  /** The longest one invoice's render may take; a longer one goes to the dead-letter topic. */
  renderTimeoutMs: number;
  sessionTimeoutMs: number;
  healthHost: string;
  healthPort: number;
}

/** Every variable the consumer reads; docs/operations.md's configuration table lists the same. */
export function loadConsumerConfig(env: Record<string, string | undefined>): ConsumerConfig {
  const e = envReader(env);
  const kafkaTopic = e.string("KAFKA_TOPIC", "invoice-events");
  return {
    logLevel: e.logLevel(),
    tracing: tracingConfig(e, "consumer"),
    kafkaBrokers: e.brokers("KAFKA_BROKERS"),
    kafkaTopic,
    kafkaTopicPartitions: e.int("KAFKA_TOPIC_PARTITIONS", 3, 1, 1000),
    deadLetterTopic: e.string("KAFKA_DEAD_LETTER_TOPIC", `${kafkaTopic}.dead-letter`),
    groupId: e.string("CONSUMER_GROUP", "invoice-documents"),
    serverUrls: e.urls("SERVER_URL", "http://127.0.0.1:8081"),
    serverRefreshMs: e.int("SERVER_REFRESH_MS", 2_000, 100, 60_000),
    consumerToken: e.secret("CONSUMER_TOKEN"),
    attempts: e.int("RENDER_ATTEMPTS", 5, 1, 100),
    retryBackoffMs: e.int("RENDER_RETRY_BACKOFF_MS", 500, 0, 60_000),
    renderWorkers: e.int("RENDER_WORKERS", 1, 1, 64),
    eventsInFlight: e.int("EVENTS_IN_FLIGHT", 4, 1, 256),
    renderTimeoutMs: e.int("RENDER_TIMEOUT_MS", 30_000, 100, 600_000),
    sessionTimeoutMs: e.int("KAFKA_SESSION_TIMEOUT_MS", 30_000, 1_000, 600_000),
    healthHost: e.string("CONSUMER_HEALTH_HOST", "127.0.0.1"),
    healthPort: e.port("CONSUMER_HEALTH_PORT", 8082),
  };
}
