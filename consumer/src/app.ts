import { createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { InvoiceDocumentService } from "@invoicer/sdk/invoicer/v1/internal_service_pb";
import { balancedTransport } from "@invoicer/platform/balanced-transport";
import { http2SessionManager } from "@invoicer/platform/http2-sessions";
import { internalTokenHeader } from "@invoicer/platform/internal-auth";
import type { EventBus } from "@invoicer/platform/kafka/event-bus";
import type { Subscription } from "@invoicer/platform/kafka/group-member";
import type { Logger } from "@invoicer/platform/logger";
import type { Observability } from "@invoicer/platform/observability";
import { traceCalls } from "@invoicer/platform/telemetry";
import { consumerMetrics } from "./consumer-metrics.ts";
import type { ConsumerConfig } from "./config.ts";
import { documentWorker, type DocumentWorkerDeps } from "./document-worker.ts";
import { createRenderPool } from "./render/pool.ts";

export interface DocumentConsumer {
  subscription: Subscription;
  /** Finishes the message in hand (or leaves it uncommitted), then leaves the group. */
  stop(): Promise<void>;
}

type Options = Omit<ConsumerConfig, "healthHost" | "healthPort" | "kafkaBrokers" | "logLevel" | "tracing">;

/**
 * Joins the consumer group and renders documents for issued invoices until stopped: on a pool of
 * `renderWorkers` threads with a time bound unless `render` is given (tests and fault injection).
 */
export async function startDocumentConsumer(
  config: Options,
  bus: EventBus,
  log: Logger,
  { tracer, metrics: registry }: Observability,
  render?: DocumentWorkerDeps["render"],
): Promise<DocumentConsumer> {
  const metrics = consumerMetrics(registry);
  const pool = render ? undefined : createRenderPool({ workers: config.renderWorkers, timeoutMs: config.renderTimeoutMs });
  const interceptors = [traceCalls(tracer), withCallerToken(config.consumerToken)];
  const { transport, endpoints } = balancedTransport(config.serverUrls, {
    refreshMs: config.serverRefreshMs,
    transportFor: (url) => createGrpcTransport({ baseUrl: url, sessionManager: http2SessionManager(url), interceptors }),
  });
  const server = createClient(InvoiceDocumentService, transport);
  const producer = bus.producer();
  const stopping = new AbortController();
  await bus.ensureTopics([
    { topic: config.kafkaTopic, partitions: config.kafkaTopicPartitions },
    { topic: config.deadLetterTopic, partitions: 1 },
  ]);
  const handle = documentWorker({
    render: render ?? pool!.render,
    attach: (request) => server.attachDocuments(request, { timeoutMs: 30_000 }),
    deadLetter: (message) => producer.send(config.deadLetterTopic, [message]),
    log,
    tracer,
    metrics,
    groupId: config.groupId,
    attempts: config.attempts,
    retryBackoffMs: config.retryBackoffMs,
    stopSignal: stopping.signal,
  });
  const subscription = await bus.consume({
    groupId: config.groupId,
    topic: config.kafkaTopic,
    sessionTimeoutMs: config.sessionTimeoutMs,
    heartbeatIntervalMs: Math.max(100, Math.floor(config.sessionTimeoutMs / 10)),
    // Every partition this member owns at once (their renders queue for the pool's threads), EVENTS_IN_FLIGHT of each.
    partitionsConsumedConcurrently: config.kafkaTopicPartitions,
    inFlightPerPartition: config.eventsInFlight,
    handle,
    onLag: (topic, partition, lag) => metrics.lag.set({ topic, partition }, lag),
  });
  return {
    subscription,
    async stop() {
      stopping.abort();
      await subscription.stop();
      await producer.disconnect();
      await pool?.close();
      endpoints.close();
    },
  };
}

const withCallerToken =
  (token: string): Interceptor =>
  (next) =>
  (req) => {
    req.header.set(internalTokenHeader, token);
    return next(req);
  };
