// The services' only module that knows the Kafka client library (they see `EventBus`): swapping kafkajs
// changes them here alone. Tooling talks to the broker with plain kafkajs as an outside client would
// (devstack/src/topics.ts, bench/stack.ts, faults/, test/outbox-limits.test.ts); the kafkajs patch's
// tests load kafkajs internals (test/unit/kafka-*.test.ts).
import kafkajs, { Kafka, logLevel, Partitioners, type Admin, type Consumer, type LogEntry } from "kafkajs";

// kafkajs is CommonJS, and Node sees only some of its exports as named ones.
const { ConfigResourceTypes } = kafkajs;
import type { Logger } from "./logger.ts";

export interface EventMessage {
  key: string;
  value: Uint8Array;
  headers: Record<string, string>;
}

export interface ReceivedMessage extends EventMessage {
  topic: string;
  partition: number;
  offset: string;
}

export interface EventProducer {
  /** Resolves once every message is acknowledged by all in-sync replicas. */
  send(topic: string, messages: EventMessage[]): Promise<void>;
  disconnect(): Promise<void>;
}

export interface ConsumeOptions {
  groupId: string;
  topic: string;
  /**
   * Called for up to `inFlightPerPartition` messages of a partition at once, in offset order; an
   * offset is committed only once it and every earlier one have resolved.
   */
  handle: (message: ReceivedMessage) => Promise<void>;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  partitionsConsumedConcurrently?: number;
  /** Messages of one partition handled at once (1: one after another, in order). */
  inFlightPerPartition?: number;
  /** After each commit: how many messages of the partition are still ahead of this member. */
  onLag?: (topic: string, partition: number, lag: number) => void;
}

export interface Subscription {
  /** Leaves the group after the message in hand is handled; uncommitted messages go to another member. */
  stop(): Promise<void>;
  /** Times this member joined the group: more than one means a rebalance took its partitions away. */
  joins(): number;
}

export interface TopicSpec {
  topic: string;
  partitions: number;
  /** Replicas of each partition; the cluster's default when omitted. */
  replicationFactor?: number;
  /** Topic-level settings for a topic created now, such as `max.message.bytes`. */
  config?: Record<string, string>;
}

/**
 * Creates the topics that do not exist yet and resolves once each of their partitions has a leader.
 * kafkajs's own `waitForLeaders` fails when it asks a broker that has not heard of the new topic yet
 * (any cluster of more than one broker), so the leaders are awaited here, by asking.
 */
export async function createMissingTopics(admin: Admin, topics: TopicSpec[], timeoutMs = 30_000): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.topic));
  if (missing.length === 0) return;
  await admin
    .createTopics({
      waitForLeaders: false,
      topics: missing.map((t) => ({
        topic: t.topic,
        numPartitions: t.partitions,
        replicationFactor: t.replicationFactor ?? -1,
        configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
      })),
    })
    .catch((err: { errors?: { type?: string }[] }) => {
      // Another service created it a moment ago: that is what we wanted.
      if (!err.errors?.length || err.errors.some((e) => e.type !== "TOPIC_ALREADY_EXISTS")) throw err;
    });
  const names = missing.map((t) => t.topic);
  const deadline = Date.now() + timeoutMs;
  while (!(await everyPartitionLed(admin, names))) {
    if (Date.now() > deadline) throw new Error(`topics ${names.join(", ")} have no leaders after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100)); // metadata is only visible by asking
  }
}

async function everyPartitionLed(admin: Admin, topics: string[]): Promise<boolean> {
  const metadata = await admin.fetchTopicMetadata({ topics }).catch(() => undefined);
  return metadata !== undefined && metadata.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
}

export interface EventBus {
  ensureTopics(topics: TopicSpec[]): Promise<void>;
  /** The largest record batch the topic accepts (its `max.message.bytes`). */
  maxMessageBytes(topic: string): Promise<number>;
  producer(): EventProducer;
  consume(options: ConsumeOptions): Promise<Subscription>;
}

/** A client for the Kafka API (Apache Kafka or Redpanda) logging through pino. */
export function connectEventBus(options: { brokers: string[]; clientId: string; log: Logger; retries?: number }): EventBus {
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => logEntry(options.log, entry),
    retry: { retries: options.retries ?? 5, initialRetryTime: 200, maxRetryTime: 5_000 },
  });
  return {
    async ensureTopics(topics) {
      const admin = kafka.admin();
      await admin.connect();
      try {
        await createMissingTopics(admin, topics);
      } finally {
        await admin.disconnect();
      }
    },

    async maxMessageBytes(topic) {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const { resources } = await admin.describeConfigs({
          includeSynonyms: false,
          resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ["max.message.bytes"] }],
        });
        const value = Number(resources[0]?.configEntries.find((e) => e.configName === "max.message.bytes")?.configValue);
        if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`topic ${topic} has no max.message.bytes`);
        return value;
      } finally {
        await admin.disconnect();
      }
    },

    producer() {
      // A producer and its connection, replaced together when a send fails.
      const fresh = () => ({
        producer: kafka.producer({
          createPartitioner: Partitioners.DefaultPartitioner,
          allowAutoTopicCreation: false,
          idempotent: true, // broker-side dedup of the client's own retries
          maxInFlightRequests: 1,
        }),
        connected: undefined as Promise<void> | undefined,
      });
      let current = fresh();
      return {
        async send(topic, messages) {
          const sending = current;
          sending.connected ??= sending.producer.connect().catch((err: unknown) => {
            sending.connected = undefined;
            throw err;
          });
          await sending.connected;
          try {
            await sending.producer.send({
              topic,
              acks: -1,
              messages: messages.map((m) => ({ key: m.key, value: Buffer.from(m.value), headers: m.headers })),
            });
          } catch (err) {
            // A request whose answer was lost (its leader died) may still be on the new leader, while kafkajs
            // has taken its sequence numbers back: the next, different batch would be refused as out of order
            // for good, or taken for that one and dropped. A new producer id starts afresh; what the caller
            // sends again may then be on the topic twice, never missing. Concurrent sends failing on the
            // same producer replace it once.
            if (current === sending) {
              current = fresh();
              void sending.producer.disconnect().catch(() => {});
            }
            throw err;
          }
        },
        disconnect: () => current.producer.disconnect(),
      };
    },

    async consume(consumeOptions) {
      let joins = 0;
      let stopped = false;
      let member = await joinGroup(kafka, consumeOptions, () => joins++, restart);
      // kafkajs gives up on a member after an error it calls non-retriable, such as a commit the
      // coordinator refuses because a frozen broker dropped the member; the group must not lose us.
      async function restart(err: unknown) {
        options.log.error({ err }, "the consumer crashed; joining the group again");
        for (let attempt = 0; !stopped; attempt++) {
          await new Promise((r) => setTimeout(r, Math.min(5_000, 200 * 2 ** attempt)));
          if (stopped) return;
          try {
            member = await joinGroup(kafka, consumeOptions, () => joins++, restart);
            return;
          } catch (error) {
            options.log.warn({ err: error, attempt }, "cannot join the group yet; retrying");
          }
        }
      }
      return {
        async stop() {
          stopped = true;
          await member.disconnect();
        },
        joins: () => joins,
      };
    },
  };
}

/** Broker answers that no retry can change: the batch must be split, or a message set aside. */
const rejectedForGood = new Set(["MESSAGE_TOO_LARGE", "RECORD_LIST_TOO_LARGE", "INVALID_RECORD"]);

/** True when the broker refused what was sent for a reason a retry cannot change (too large, invalid). */
export function isRejectedForGood(err: unknown): boolean {
  for (let e = err as { type?: string; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.type === "string" && rejectedForGood.has(e.type)) return true;
  }
  return false;
}

/** One member of the group: connects, subscribes and handles messages, committing each offset after its handler. */
async function joinGroup(kafka: Kafka, options: ConsumeOptions, onJoin: () => void, onCrash: (err: unknown) => void): Promise<Consumer> {
  const {
    groupId,
    topic,
    handle,
    sessionTimeoutMs = 30_000,
    heartbeatIntervalMs = 3_000,
    partitionsConsumedConcurrently = 1,
    inFlightPerPartition = 1,
    onLag,
  } = options;
  // A short fetch wait keeps shutdown quick: leaving the group waits for the fetch in flight.
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: sessionTimeoutMs,
    heartbeatInterval: heartbeatIntervalMs,
    maxWaitTimeInMs: 500,
  });
  consumer.on(consumer.events.GROUP_JOIN, onJoin);
  consumer.on(consumer.events.CRASH, ({ payload }) => void (payload.restart || onCrash(payload.error)));
  // The partition's end as of the latest fetch; lag is measured against it after each commit.
  const highWatermarks = new Map<number, bigint>();
  consumer.on(
    consumer.events.START_BATCH_PROCESS,
    ({ payload }) => void highWatermarks.set(payload.partition, BigInt(payload.highWatermark)),
  );
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    // Offsets are resolved here as each prefix of the batch is handled, so a stop or a failure
    // mid-batch leaves the rest to be fetched again.
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently,
    eachBatch: async ({ batch, heartbeat, resolveOffset, commitOffsetsIfNecessary, isRunning, isStale }) => {
      const { topic, partition } = batch;
      // A slow handler keeps the membership alive, so the group does not rebalance under it; a
      // heartbeat refused (the group is rebalancing) starts no more messages of the batch.
      let refused = false;
      const beating = setInterval(() => void heartbeat().catch(() => (refused = true)), heartbeatIntervalMs);
      try {
        await handleBatch(batch.messages, {
          inFlight: inFlightPerPartition,
          live: () => isRunning() && !isStale() && !refused,
          handle: (message) =>
            handle({
              topic,
              partition,
              offset: message.offset,
              key: message.key?.toString() ?? "",
              value: message.value ?? new Uint8Array(),
              headers: headersOf(message.headers),
            }),
          async commit(last) {
            resolveOffset(last);
            const next = BigInt(last) + 1n;
            // The batch's own commit: it still commits while the member is stopping (consumer.commitOffsets does not).
            await commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: String(next) }] }] });
            const end = highWatermarks.get(partition);
            if (onLag && end !== undefined) onLag(topic, partition, Number(end > next ? end - next : 0n));
          },
        });
      } finally {
        clearInterval(beating);
      }
      await heartbeat(); // a rebalance under way is kafkajs's to join now
    },
  });
  return consumer;
}

/**
 * Handles one partition's batch, in offset order, up to `inFlight` messages at once, so one slow
 * message does not hold up the ones behind it. An offset is committed only once it and every one
 * before it are handled: when a prefix completes while none is being committed, and at the end.
 * After a failure no more are started; it is thrown once those in flight settle.
 */
export async function handleBatch<M extends { offset: string }>(
  messages: M[],
  o: { inFlight: number; live: () => boolean; handle: (message: M) => Promise<void>; commit: (lastOffset: string) => Promise<void> },
): Promise<void> {
  const done = messages.map(() => false);
  let [handled, committed] = [0, 0]; // messages[0, handled) are done; [0, committed) committed
  let failure: { error: unknown } | undefined;
  let committing: Promise<void> | undefined;
  // Commits the handled prefix, and again while more completed during a commit.
  const commitPrefix = async () => {
    for (;;) {
      while (handled < messages.length && done[handled]) handled++;
      if (handled === committed) return;
      committed = handled;
      await o.commit(messages[handled - 1]!.offset);
    }
  };
  // One commit at a time: prefixes completed meanwhile go into the next one.
  const commitSoon = () =>
    void (committing ??= commitPrefix()
      .catch((error: unknown) => void (failure ??= { error }))
      .finally(() => (committing = undefined)));
  const running = new Set<Promise<void>>();
  for (let i = 0; i < messages.length && !failure && o.live(); i++) {
    const task: Promise<void> = Promise.resolve(messages[i]!)
      .then(o.handle) // a handler that throws at once fails like one that rejects
      .then(
        () => void ((done[i] = true), commitSoon()),
        (error: unknown) => void (failure ??= { error }),
      )
      .finally(() => running.delete(task));
    running.add(task);
    if (running.size >= o.inFlight) await Promise.race(running);
  }
  await Promise.all(running);
  await committing;
  await commitPrefix();
  if (failure) throw failure.error;
}

function headersOf(headers: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined) {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) out[name] = (Array.isArray(value) ? value[0] : value)?.toString() ?? "";
  }
  return out;
}

function logEntry(log: Logger, { level, label, log: { message, ...fields } }: LogEntry) {
  const context = { kafka: { label, ...fields } };
  if (level === logLevel.ERROR || level === logLevel.NOTHING) log.error(context, message);
  else if (level === logLevel.WARN) log.warn(context, message);
  else log.debug(context, message);
}
