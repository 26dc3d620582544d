// Reading and writing topics as a client outside the project would (plain kafkajs): for the tests,
// the fault suite and the bench, never the services.
import { randomBytes } from "node:crypto";
import { Kafka, logLevel, type Admin, type Consumer } from "kafkajs";

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

/** A topic to create: its partitions, replicas (the cluster's default when omitted) and topic-level settings. */
export interface TopicToCreate {
  topic: string;
  partitions: number;
  replicationFactor?: number;
  config?: Record<string, string>;
}

/** Creates the topics that do not exist yet and resolves once every partition has a leader. */
export async function createTopics(brokers: string[], topics: TopicToCreate[]): Promise<void> {
  const admin = new Kafka({ clientId: "test-admin", brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    // kafkajs's own wait fails when it asks a broker that has not heard of the topic yet; the loop below waits.
    await admin.createTopics({
      waitForLeaders: false,
      topics: topics
        .filter((t) => !existing.has(t.topic))
        .map((t) => ({
          topic: t.topic,
          numPartitions: t.partitions,
          replicationFactor: t.replicationFactor ?? -1,
          configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
        })),
    });
    const names = topics.map((t) => t.topic);
    const deadline = Date.now() + 30_000;
    while (!(await everyPartitionLed(admin, names))) {
      if (Date.now() > deadline) throw new Error(`topics ${names.join(", ")} have no leaders after 30 s`);
      await new Promise((r) => setTimeout(r, 100)); // metadata is only visible by asking
    }
  } finally {
    await admin.disconnect();
  }
}

async function everyPartitionLed(admin: Admin, topics: string[]): Promise<boolean> {
  const metadata = await admin.fetchTopicMetadata({ topics }).catch(() => undefined);
  return metadata !== undefined && metadata.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
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
