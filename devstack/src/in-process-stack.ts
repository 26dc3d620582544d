// The stack the tests run in their own process (devstack/src/stack.ts runs the same services as child
// processes): a fresh database on the PostgreSQL `npm test` started, the server, the gateway and
// optionally the outbox relay and the document consumer, with what tests reach into (the server's
// lifecycle and watch, each service's spans, a database link to cut).
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { InvoiceService } from "@invoicer/sdk";
import { createDualServer } from "@invoicer/platform/http-server/dual-server";
import { listen } from "@invoicer/platform/http-server/listen";
import { connectEventBus, type EventBus } from "@invoicer/platform/kafka/event-bus";
import { createMetricsServer } from "@invoicer/platform/metrics";
import { createLogger, type Logger } from "@invoicer/platform/logger";
import { startObservability, type Observability } from "@invoicer/platform/observability";
import { tracedProducer } from "@invoicer/platform/traced-producer";
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { buildGateway } from "../../gateway/src/app.ts";
import { loadGatewayConfig, type GatewayConfig } from "../../gateway/src/config.ts";
import { createApiKey } from "../../server/src/api-key-admin.ts";
import { createServerHandler, drainServer, serverLifecycle, type ServerLifecycle } from "../../server/src/app.ts";
import { openDatabase, type Database } from "../../server/src/db/client.ts";
import { createInvoiceWatch, type InvoiceWatch } from "../../server/src/invoices/watch.ts";
import { listenForOutbox, type OutboxNotifications } from "../../server/src/outbox/notifications.ts";
import { startOutboxRelay } from "../../server/src/outbox/relay.ts";
import { startDocumentConsumer, type DocumentConsumer } from "../../consumer/src/app.ts";
import { createAppDatabase } from "./app-database.ts";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.ts";

import type { DocumentWorkerDeps } from "../../consumer/src/document-worker.ts";

export interface Tenant {
  id: string;
  apiKey: string;
}

export interface Stack {
  gatewayUrl: string;
  serverUrl: string;
  /** Where the server answers Prometheus scrapes (SERVER_METRICS_PORT). */
  serverMetricsUrl: string;
  internalToken: string;
  /** The document consumer's credential (CONSUMER_TOKEN). */
  consumerToken: string;
  database: Database;
  databaseUrl: string;
  tenantA: Tenant;
  tenantB: Tenant;
  /** A Connect client of the public service through the gateway, authenticated as `tenant`. */
  client(tenant: Tenant, transport?: "connect-json" | "connect-binary" | "grpc-web"): Client<typeof InvoiceService>;
  watch: InvoiceWatch;
  notifications: OutboxNotifications;
  /** With `cuttableDatabase`: the server's link to PostgreSQL (the test's own `database` stays connected). */
  databaseLink?: TcpProxy;
  /** The server's drain and cut signals (every call in flight listens on `cut`). */
  lifecycle: ServerLifecycle;
  /** Drains the server as its SIGTERM does (the stack is not usable afterwards but can be closed). */
  drainServer(graceMs: number): Promise<void>;
  /** Each service's tracer and registry; every finished span lands in `spans()`. */
  observability: { server: Observability; gateway: Observability; consumer: Observability; spans(): ReadableSpan[] };
  /** The bearer token the gateway's /metrics wants. */
  metricsToken: string;
  /** Present when the stack was started with events: its own topics, relay and consumer. */
  events?: StackEvents;
  close(): Promise<void>;
}

export interface StackEvents {
  topic: string;
  groupId: string;
  deadLetterTopic: string;
  bus: EventBus;
  consumer?: DocumentConsumer;
}

export interface EventOptions {
  /** The broker; the one `npm test` started by default. */
  brokers?: string[];
  /** Run the document consumer in the stack (default true). */
  consumer?: boolean;
  render?: DocumentWorkerDeps["render"];
  sessionTimeoutMs?: number;
  /** Settings of the stack's topic, such as max.message.bytes. */
  topicConfig?: Record<string, string>;
}

export interface StackOptions {
  log?: Logger;
  /** The server reaches PostgreSQL through a proxy the test can cut (`stack.databaseLink`). */
  cuttableDatabase?: boolean;
  /** WATCH_MAX_PER_TENANT of the server. */
  watchMaxPerTenant?: number;
  /** MAX_CALLS_PER_TENANT of the server. */
  maxCallsPerTenant?: number;
  /** READ_LINES_PER_SECOND_PER_TENANT and READ_LINES_BURST_PER_TENANT of the server (unbounded by default). */
  readLines?: { perSecond: number; burst: number };
  /** MAX_MESSAGE_BYTES of the server (1 MiB by default). */
  maxMessageBytes?: number;
}

/** A fresh database on the test PostgreSQL, migrated, with a real server and gateway on free ports. */
export async function startStack(
  gatewayOverrides: Partial<GatewayConfig> = {},
  eventOptions?: EventOptions,
  {
    log = createLogger("test", process.env.TEST_LOG_LEVEL ?? "silent"),
    watchMaxPerTenant,
    maxCallsPerTenant = 100_000,
    readLines = { perSecond: 1e9, burst: 1e9 },
    cuttableDatabase,
    maxMessageBytes = 1024 * 1024,
  }: StackOptions = {},
): Promise<Stack> {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) throw new Error("TEST_DATABASE_URL is not set: run the tests with `npm test`");
  const name = `test_${randomBytes(6).toString("hex")}`;
  const databaseUrl = await createAppDatabase(adminUrl, name);
  const database = openDatabase(databaseUrl, 20);
  // What the server uses: the database itself, or the same through a proxy the test can cut.
  const databaseLink = cuttableDatabase ? await startTcpProxy(new URL(databaseUrl).hostname, Number(new URL(databaseUrl).port)) : undefined;
  const serverDatabaseUrl = databaseLink ? Object.assign(new URL(databaseUrl), { host: databaseLink.address }).toString() : databaseUrl;
  const serverDatabase = databaseLink ? openDatabase(serverDatabaseUrl, 20) : database;
  const internalToken = randomBytes(24).toString("hex");
  const consumerToken = randomBytes(24).toString("hex");
  const metricsToken = randomBytes(24).toString("hex");
  const exporter = new InMemorySpanExporter();
  const observe = (service: string) =>
    startObservability(service, { serviceName: `invoicer-${service}` }, [new SimpleSpanProcessor({ exporter })]);
  const observability = {
    server: observe("server"),
    gateway: observe("gateway"),
    consumer: observe("consumer"),
    spans: () => exporter.getFinishedSpans(),
  };

  const notifications = listenForOutbox(serverDatabaseUrl, log);
  const watch = createInvoiceWatch(serverDatabase.sql, notifications, log, { keepAliveMs: 60_000, maxPerTenant: watchMaxPerTenant });
  await watch.ready;
  const lifecycle = serverLifecycle();
  const server = createDualServer(
    createServerHandler({
      config: { internalToken, consumerToken, maxMessageBytes, maxCallsPerTenant, readLines, maxRunningCallsPerTenant: 10 },
      database: serverDatabase,
      watch,
      log,
      observability: observability.server,
      lifecycle,
    }),
  );
  const serverPort = await listen(server, 0, "127.0.0.1", "SERVER_PORT");
  const serverUrl = `http://127.0.0.1:${serverPort}`;
  const metricsServer = createMetricsServer(observability.server.metrics);
  const serverMetricsUrl = `http://127.0.0.1:${await listen(metricsServer, 0, "127.0.0.1", "SERVER_METRICS_PORT")}`;
  const events =
    eventOptions && (await startEvents(name, eventOptions, serverDatabase, notifications, serverUrl, consumerToken, log, observability));
  const config = {
    ...loadGatewayConfig({ INTERNAL_TOKEN: internalToken, SERVER_URL: serverUrl }),
    corsOrigins: ["http://allowed.example"],
    rateLimitPerSecond: 100_000,
    rateLimitBurst: 100_000,
    // Every test client shares 127.0.0.1: per-address bounds are tested where a test sets them.
    rateLimitPerAddress: 100_000,
    keyChecksPerAddress: 100_000,
    connections: { headersTimeoutMs: 10_000, idleTimeoutMs: 120_000, maxConnectionsPerAddress: 0, maxStreamsPerConnection: 1_000 },
    metricsToken,
    ...gatewayOverrides,
  };
  const gateway = await buildGateway(config, log, observability.gateway);
  await gateway.listen({ port: 0, host: "127.0.0.1" });
  const gatewayUrl = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;

  const tenantA = await tenant(database, "tenant-a");
  const tenantB = await tenant(database, "tenant-b");
  return {
    gatewayUrl,
    serverUrl,
    serverMetricsUrl,
    internalToken,
    consumerToken,
    database,
    databaseUrl,
    tenantA,
    tenantB,
    watch,
    notifications,
    databaseLink,
    lifecycle,
    drainServer: (graceMs) => drainServer(server, watch, lifecycle, graceMs),
    observability,
    metricsToken,
    events: events?.stackEvents,
    client: (t, kind = "connect-binary") => createClient(InvoiceService, gatewayTransport(gatewayUrl, t.apiKey, kind)),
    async close() {
      // Tests end abruptly (oversized uploads cut short), so no connection is waited for.
      const closing = gateway.close();
      gateway.server.closeAllConnections();
      await closing;
      await events?.stop();
      await watch.stop();
      await notifications.stop();
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
      metricsServer.closeAllConnections();
      await new Promise((done) => metricsServer.close(done));
      if (serverDatabase !== database) await serverDatabase.close();
      await databaseLink?.close();
      await database.close();
    },
  };
}

/** The stack's own topics on the shared broker, its outbox relay and (by default) its consumer. */
async function startEvents(
  name: string,
  options: EventOptions,
  database: Database,
  notifications: OutboxNotifications,
  serverUrl: string,
  consumerToken: string,
  log: Logger,
  observability: Stack["observability"],
) {
  const brokers = options.brokers ?? process.env.TEST_KAFKA_BROKERS?.split(",");
  if (!brokers) throw new Error("TEST_KAFKA_BROKERS is not set: run the tests with `npm test`");
  const topic = `invoice-events-${name}`;
  const deadLetterTopic = `${topic}.dead-letter`;
  const groupId = `documents-${name}`;
  const bus = connectEventBus({ brokers, clientId: name, log, retries: 2 });
  const producer = tracedProducer(bus.producer(), observability.server.tracer);
  const relay = startOutboxRelay({
    sql: database.sql,
    producer,
    topic,
    ensureTopic: () => bus.ensureTopics([{ topic, partitions: 3, config: options.topicConfig }]),
    maxMessageBytes: () => bus.maxMessageBytes(topic),
    notifications,
    log,
    maxBackoffMs: 1_000,
  });
  const consumer =
    options.consumer === false
      ? undefined
      : await startDocumentConsumer(
          {
            kafkaTopic: topic,
            kafkaTopicPartitions: 3,
            deadLetterTopic,
            groupId,
            serverUrls: [serverUrl],
            serverRefreshMs: 2_000,
            consumerToken,
            attempts: 3,
            retryBackoffMs: 50,
            sessionTimeoutMs: options.sessionTimeoutMs ?? 10_000,
            renderWorkers: 1,
            eventsInFlight: 4,
            renderTimeoutMs: 30_000,
          },
          bus,
          log,
          observability.consumer,
          options.render,
        );
  return {
    stackEvents: { topic, groupId, deadLetterTopic, bus, consumer },
    async stop() {
      await consumer?.stop();
      await relay.stop();
      await producer.disconnect();
    },
  };
}

async function tenant(database: Database, name: string): Promise<Tenant> {
  const { tenantId, apiKey } = await createApiKey(database.db, name);
  return { id: tenantId, apiKey };
}

export function bearer(apiKey: string): Interceptor {
  return (next) => (req) => {
    req.header.set("authorization", `Bearer ${apiKey}`);
    return next(req);
  };
}

export function gatewayTransport(baseUrl: string, apiKey: string, kind: "connect-json" | "connect-binary" | "grpc-web"): Transport {
  const interceptors = [bearer(apiKey)];
  if (kind === "grpc-web") return createGrpcWebTransport({ baseUrl, httpVersion: "1.1", interceptors });
  return createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: kind === "connect-binary", interceptors });
}
