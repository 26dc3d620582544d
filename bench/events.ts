// Event latency (commit -> a Kafka consumer has it; create -> document READY seen by a watcher)
// at steady rates, and the document consumers' throughput on a pre-loaded backlog.
import { randomBytes } from "node:crypto";
import { Agent } from "node:http";
import { cpus } from "node:os";
import { fromBinary } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { InvoiceEventSchema, InvoiceService } from "@invoicer/sdk";
import { Kafka, logLevel } from "kafkajs";
import type postgres from "postgres";
import { sampleInvoice } from "@invoicer/devstack/samples";
import { readCloudEventHeaders } from "@invoicer/platform/cloudevents";
import { paced, summarize, type Summary } from "./load.ts";
import { cpuWindow, type Measured } from "./processes.ts";
import type { Tenant } from "./targets.ts";

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Awaits a condition no event announces (rows in another process's database), checking every `everyMs`; false on timeout. */
async function until(condition: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (performance.now() > deadline) return false;
    await pause(everyMs);
  }
}

/** Waits until the relay has published every committed outbox row; false if it has not within `timeoutMs`. */
export function outboxDrained(sql: postgres.Sql, timeoutMs: number): Promise<boolean> {
  return until(
    async () => {
      const [row] = await sql<{ n: number }[]>`select count(*)::int as n from outbox where published_at is null`;
      return row!.n === 0;
    },
    timeoutMs,
    100,
  );
}

function kafkaClient(brokers: string, clientId: string) {
  return new Kafka({ clientId, brokers: brokers.split(","), logLevel: logLevel.NOTHING });
}

/**
 * Commits, for a group that has no members, offsets at the current end of the topic: the group
 * then starts with the next message rather than the backlog (the services subscribe from the beginning).
 */
export async function groupAtTopicEnd(brokers: string, groupId: string, topic: string): Promise<void> {
  const admin = kafkaClient(brokers, "bench-admin").admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.setOffsets({ groupId, topic, partitions: ends.map(({ partition, high }) => ({ partition, offset: high })) });
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const wrong = ends.filter(({ partition, high }) => committed?.partitions.find((p) => p.partition === partition)?.offset !== high);
    if (wrong.length > 0) throw new Error(`could not move group ${groupId} to the end of ${topic}`);
  } finally {
    await admin.disconnect();
  }
}

/** Waits until the topic exists (the server's relay creates it on start). */
export async function topicExists(brokers: string, topic: string, timeoutMs: number): Promise<boolean> {
  const admin = kafkaClient(brokers, "bench-admin").admin();
  await admin.connect();
  try {
    return await until(async () => (await admin.listTopics()).includes(topic), timeoutMs, 200);
  } finally {
    await admin.disconnect();
  }
}

export interface EventLatency {
  /** Document consumers running meanwhile: 0 measures the relay -> Kafka path with no rendering competing for the CPU. */
  consumers: number;
  rate: number;
  durationMs: number;
  sent: number;
  failed: number;
  firstError?: string;
  /** Issued events the bench's own Kafka consumer received, of the creates acknowledged. */
  received: number;
  /** documentReady events the WatchInvoices stream delivered, of the creates acknowledged (0 when nothing renders). */
  ready: number;
  /** Whether every event arrived within the settle time; if not, each missing one counts as the time waited (a lower bound). */
  settled: boolean;
  /** Kafka receive time minus the event's occur_time (set in the create transaction, just before commit). */
  commitToReceivedMs: Summary;
  /** Kafka receive time minus the moment the create call returned to the client (after commit and the response's trip). */
  responseToReceivedMs: Summary;
  /** documentReady on the watch stream minus the moment the create call was started. */
  createToReadyMs: Summary;
  /** Share of the machine's CPU used meanwhile by processes outside the bench, and in all. */
  othersCpuPercent: number;
  machineCpuPercent: number;
  /** CPU time per create acknowledged, by process, while the creates were sent. */
  cpuMsPerCreate: Record<string, number>;
}

interface Created {
  startedAt: number; // performance.now() before the call
  respondedAtWall: number; // Date.now() when it returned
}

/**
 * Creates invoices through the gateway (Connect binary) at each steady rate, with a WatchInvoices
 * stream open through the gateway and a plain kafkajs consumer of the bench on the topic.
 */
export async function measureEventLatency(options: {
  gatewayUrl: string;
  tenant: Tenant;
  brokers: string;
  topic: string;
  rates: number[];
  durationMs: number;
  warmupMs: number;
  settleMs: number;
  /** The document consumers running; with none, READY is not waited for. */
  consumers: number;
  measured: () => Measured[];
  say: (line: string) => void;
}): Promise<EventLatency[]> {
  const rendering = options.consumers > 0;
  const { tenant, say } = options;
  const agent = new Agent({ keepAlive: true });
  const client = createClient(
    InvoiceService,
    createConnectTransport({ baseUrl: options.gatewayUrl, httpVersion: "1.1", useBinaryFormat: true, nodeOptions: { agent } }),
  );
  const headers = { authorization: `Bearer ${tenant.apiKey}` };

  // Receive times are Date.now(): occur_time comes from the server's clock, the same host clock.
  const received = new Map<string, { atWall: number; occurWall: number }>();
  const groupId = `bench-reader-${randomBytes(4).toString("hex")}`;
  await groupAtTopicEnd(options.brokers, groupId, options.topic);
  const reader = kafkaClient(options.brokers, "bench-reader").consumer({ groupId, maxWaitTimeInMs: 100 });
  const joined = new Promise<void>((done) => reader.on(reader.events.GROUP_JOIN, () => done()));
  await reader.connect();
  await reader.subscribe({ topic: options.topic, fromBeginning: true });
  await reader.run({
    eachMessage: async ({ message }) => {
      const atWall = Date.now();
      if (readCloudEventHeaders(message.headers).type !== "invoice.issued" || !message.value) return;
      const event = fromBinary(InvoiceEventSchema, message.value);
      if (event.occurTime) received.set(event.invoiceId, { atWall, occurWall: timestampMs(event.occurTime) });
    },
  });
  await joined;

  const ready = new Map<string, number>();
  const watching = new AbortController();
  let watched: Promise<void> = Promise.resolve();
  if (rendering) {
    const stream = client.watchInvoices({}, { headers, signal: watching.signal })[Symbol.asyncIterator]();
    const first = await stream.next();
    if (first.done || first.value.event) throw new Error("WatchInvoices did not open with its live marker");
    watched = (async () => {
      for (let r = await stream.next(); !r.done; r = await stream.next()) {
        if (r.value.event?.kind.case === "documentReady") ready.set(r.value.event.invoiceId, performance.now());
      }
    })().catch((err: unknown) => {
      if (!watching.signal.aborted) say(`  watch stream ended: ${String(err)}`);
    });
  }

  let keys = 0;
  const create = async (created?: Map<string, Created>) => {
    const startedAt = performance.now();
    const { invoice } = await client.createInvoice(sampleInvoice({ idempotencyKey: `bench-events-${groupId}-${keys++}` }), {
      headers,
      timeoutMs: 10_000,
    });
    created?.set(invoice!.id, { startedAt, respondedAtWall: Date.now() });
  };

  const everyoneArrived = (created: Map<string, Created>) => () =>
    [...created.keys()].every((id) => (!rendering || ready.has(id)) && received.has(id));
  const results: EventLatency[] = [];
  try {
    if (options.warmupMs > 0 && rendering) {
      // Once, at the lowest rate, and drained, so that no warm-up invoice waits in the measured backlog.
      const rate = Math.min(...options.rates);
      say(`  warm-up: ${rate} creates/s for ${options.warmupMs} ms ...`);
      const warm = new Map<string, Created>();
      await paced(rate, options.warmupMs, () => create(warm));
      await until(everyoneArrived(warm), options.settleMs);
    }
    for (const rate of options.rates) {
      say(`  ${rate} creates/s for ${options.durationMs} ms ...`);
      const created = new Map<string, Created>();
      const endWindow = cpuWindow(options.measured(), cpus().length);
      const load = await paced(rate, options.durationMs, () => create(created));
      const cpu = endWindow();
      const settled = await until(everyoneArrived(created), options.settleMs);
      const [endPerf, endWall] = [performance.now(), Date.now()];
      const commitToReceived: number[] = [];
      const responseToReceived: number[] = [];
      const createToReady: number[] = [];
      let receivedCount = 0;
      let readyCount = 0;
      for (const [id, c] of created) {
        const r = received.get(id);
        if (r) receivedCount++;
        commitToReceived.push(r ? r.atWall - r.occurWall : endWall - c.respondedAtWall);
        responseToReceived.push((r?.atWall ?? endWall) - c.respondedAtWall);
        const readyAt = ready.get(id);
        if (readyAt !== undefined) readyCount++;
        if (rendering) createToReady.push((readyAt ?? endPerf) - c.startedAt);
      }
      results.push({
        consumers: options.consumers,
        rate,
        durationMs: options.durationMs,
        sent: load.sent,
        failed: load.failed,
        firstError: load.firstError,
        received: receivedCount,
        ready: readyCount,
        settled,
        commitToReceivedMs: summarize(commitToReceived),
        responseToReceivedMs: summarize(responseToReceived),
        createToReadyMs: summarize(createToReady),
        othersCpuPercent: cpu.othersPercent,
        machineCpuPercent: cpu.machinePercent,
        cpuMsPerCreate: Object.fromEntries(Object.entries(cpu.byProcess).map(([name, used]) => [name, used / Math.max(1, created.size)])),
      });
    }
  } finally {
    watching.abort();
    await watched;
    await reader.disconnect();
    agent.destroy();
  }
  return results;
}

export interface ConsumerThroughput {
  consumers: number;
  invoices: number;
  /** Invoices READY within the time allowed. */
  ready: number;
  /** (ready - 1) over the time between the first and the last document stored. */
  renderedPerSecond: number;
  firstToLastMs: number;
  /** From spawning the consumers until every invoice was READY. */
  spawnToAllReadyMs: number;
  consumerStartupMs: number[];
  /** CPU time per invoice rendered, by process, from the consumers answering ready until all invoices were READY. */
  cpuMsPerInvoice: Record<string, number>;
  othersCpuPercent: number;
}

/**
 * With the consumers stopped: moves a new group to the end of the topic, issues `invoices`
 * invoices and waits until the relay has published them; then starts the consumers and times
 * until all are READY. The rate comes from the documents' commit times in PostgreSQL.
 */
export async function measureConsumerThroughput(options: {
  consumers: number;
  invoices: number;
  brokers: string;
  topic: string;
  sql: postgres.Sql;
  issue: (count: number) => Promise<string[]>;
  startConsumers: (count: number, group: string, together: boolean) => Promise<number[]>;
  stopConsumers: () => Promise<void>;
  settleMs: number;
  measured: () => Measured[];
}): Promise<ConsumerThroughput> {
  await options.stopConsumers();
  const group = `bench-documents-${options.consumers}-${randomBytes(4).toString("hex")}`;
  await groupAtTopicEnd(options.brokers, group, options.topic);
  const ids = await options.issue(options.invoices);
  if (!(await outboxDrained(options.sql, options.settleMs))) throw new Error("the relay did not publish the pre-loaded invoices in time");
  const spawnedAt = performance.now();
  const consumerStartupMs = await options.startConsumers(options.consumers, group, true);
  const readyCount = async () => {
    const [row] = await options.sql<{ n: number }[]>`
      select count(*)::int as n from invoices where id = any(${ids}::uuid[]) and document_status = 'READY'`;
    return row!.n;
  };
  // From here on the consumers' CPU is rendering, not starting up.
  const endWindow = cpuWindow(options.measured(), cpus().length);
  const readyBefore = await readyCount();
  await until(async () => (await readyCount()) === ids.length, options.settleMs, 100);
  const spawnToAllReadyMs = performance.now() - spawnedAt;
  const cpu = endWindow();
  const renderedSince = (await readyCount()) - readyBefore;
  const cpuMsPerInvoice: Record<string, number> = {};
  for (const [name, used] of Object.entries(cpu.byProcess)) if (renderedSince > 0) cpuMsPerInvoice[name] = used / renderedSince;
  const [span] = await options.sql<{ n: number; span_ms: string | null }[]>`
    select count(*)::int as n, extract(epoch from max(created_at) - min(created_at)) * 1000 as span_ms
    from invoice_documents where invoice_id = any(${ids}::uuid[]) and format = 'PDF'`;
  const ready = span!.n;
  const firstToLastMs = Number(span!.span_ms ?? 0);
  return {
    consumers: options.consumers,
    invoices: ids.length,
    ready,
    renderedPerSecond: firstToLastMs > 0 ? ((ready - 1) * 1000) / firstToLastMs : NaN,
    firstToLastMs,
    spawnToAllReadyMs,
    consumerStartupMs,
    cpuMsPerInvoice,
    othersCpuPercent: cpu.othersPercent,
  };
}
