// Reading and writing topics as a client outside the project would (plain kafkajs): for the tests,
// the fault suite and the bench, never the services.
import { randomBytes } from "node:crypto";
import { createMissingTopics, type TopicSpec } from "@invoicer/platform/kafka/topics";
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
      messages.push({
        key: message.key?.toString() ?? "",
        value: message.value ?? Buffer.alloc(0),
        headers,
        partition,
        offset: message.offset,
      });
    },
  });
  return { items: messages.items, until: messages.until, close: () => consumer.disconnect() };
}

/** Produces raw messages to a topic, as another producer (or a replay) would. */
export async function produceRaw(
  brokers: string[],
  topic: string,
  messages: { key: string; value: Buffer; headers?: Record<string, string> }[],
) {
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

/** A consumer group's state as its coordinator reports it: "Stable", "PreparingRebalance", "Empty", ... */
export async function groupState(brokers: string[], groupId: string): Promise<string> {
  const admin = new Kafka({ clientId: "test-admin", brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    return groups[0]?.state ?? "Dead";
  } finally {
    await admin.disconnect();
  }
}

/** A topic to create: its partitions, replicas (the cluster's default when omitted) and topic-level settings. */
export type TopicToCreate = TopicSpec;

/** Creates the topics that do not exist yet and resolves once every partition has a leader, as the services do. */
export async function createTopics(brokers: string[], topics: TopicToCreate[]): Promise<void> {
  const admin = new Kafka({ clientId: "test-admin", brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await createMissingTopics(admin, topics);
  } finally {
    await admin.disconnect();
  }
}

/** Resolves once the reader has read everything on the topic at the time of the call. */
export async function caughtUp(brokers: string[], topic: string, reader: TopicReader): Promise<void> {
  const admin = new Kafka({ clientId: "test-admin", brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  await reader.until((ms) =>
    ends.every(
      ({ partition, high }) => BigInt(high) === 0n || ms.some((m) => m.partition === partition && BigInt(m.offset) >= BigInt(high) - 1n),
    ),
  );
}
