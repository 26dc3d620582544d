// Test helpers for events: a plain kafkajs reader (a client outside the project), a raw producer,
// the group's committed offsets, and WatchInvoices streams.
import { randomBytes } from "node:crypto";
import type { Client } from "@connectrpc/connect";
import type { InvoiceEvent, InvoiceService } from "@invoicer/sdk";
import { Kafka, logLevel, type Consumer } from "kafkajs";

export interface TopicMessage {
  key: string;
  value: Buffer;
  headers: Record<string, string>;
  partition: number;
  offset: string;
}

/** Items arriving in the background, and a way to await a condition on them. */
export interface Collected<T> {
  items: T[];
  /** Resolves with the items once `done` holds for them; rejects after `timeoutMs`. */
  until(done: (items: T[]) => boolean, timeoutMs?: number): Promise<T[]>;
}

export function collector<T>(): Collected<T> & { push(item: T): void } {
  const items: T[] = [];
  const waiters = new Set<() => void>();
  return {
    items,
    push(item) {
      items.push(item);
      for (const wake of waiters) wake();
    },
    until(done, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!done(items)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(items);
        };
        const timer = setTimeout(() => (waiters.delete(check), reject(new Error(`timed out; ${items.length} items so far`))), timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

export interface TopicReader extends Collected<TopicMessage> {
  close(): Promise<void>;
}

export async function readTopic(brokers: string[], topic: string): Promise<TopicReader> {
  const kafka = new Kafka({ clientId: "test-reader", brokers, logLevel: logLevel.NOTHING });
  const consumer: Consumer = kafka.consumer({ groupId: `reader-${randomBytes(4).toString("hex")}`, maxWaitTimeInMs: 100 });
  const messages = collector<TopicMessage>();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      messages.push({ key: message.key?.toString() ?? "", value: message.value ?? Buffer.alloc(0), headers, partition, offset: message.offset });
    },
  });
  return { items: messages.items, until: messages.until, close: () => consumer.disconnect() };
}

/** Produces raw messages to a topic, as another producer (or a replay) would. */
export async function produceRaw(brokers: string[], topic: string, messages: { key: string; value: Buffer; headers?: Record<string, string> }[]) {
  const kafka = new Kafka({ clientId: "test-producer", brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, acks: -1, messages });
  await producer.disconnect();
}

/** The group's committed offset on a partition (the next offset it will read), or -1. */
export async function committedOffset(brokers: string[], groupId: string, topic: string, partition: number): Promise<bigint> {
  const admin = new Kafka({ clientId: "test-admin", brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return BigInt(entry?.partitions.find((p) => p.partition === partition)?.offset ?? "-1");
  } finally {
    await admin.disconnect();
  }
}

/** Awaits a condition that has no event to wait on, checking it every `everyMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 60_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Opens WatchInvoices and collects its events in the background; resolves once the watch is live. */
export async function watchInvoices(client: Client<typeof InvoiceService>): Promise<Collected<InvoiceEvent> & { close(): void; ended: Promise<void> }> {
  const abort = new AbortController();
  const events = collector<InvoiceEvent>();
  const stream = client.watchInvoices({}, { signal: abort.signal })[Symbol.asyncIterator]();
  const first = await stream.next();
  if (first.done || first.value.event) throw new Error("WatchInvoices must open with a live marker");
  const ended = (async () => {
    for (let r = await stream.next(); !r.done; r = await stream.next()) if (r.value.event) events.push(r.value.event);
  })().catch((err: unknown) => {
    if (!abort.signal.aborted) throw err;
  });
  return { ...events, ended, close: () => abort.abort() };
}

/** Resolves once the reader has read everything on the topic at the time of the call. */
export async function caughtUp(brokers: string[], topic: string, reader: TopicReader): Promise<void> {
  const admin = new Kafka({ clientId: "test-admin", brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  await reader.until((ms) =>
    ends.every(({ partition, high }) => BigInt(high) === 0n || ms.some((m) => m.partition === partition && BigInt(m.offset) >= BigInt(high) - 1n)),
  );
}
