import type { Consumer, EachBatchPayload, Kafka } from "kafkajs";
import type { Logger } from "../logger.ts";
import { handleBatch } from "./batch.ts";
import type { ReceivedMessage } from "./messages.ts";

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

/** Joins the group as one member, and joins again whenever kafkajs gives the member up, until stopped. */
export async function consumeAsMember(kafka: Kafka, options: ConsumeOptions, log: Logger): Promise<Subscription> {
  let joins = 0;
  let stopped = false;
  let member = await joinGroup(kafka, options, () => joins++, restart);
  // kafkajs gives up on a member after an error it calls non-retriable, such as a commit the
  // coordinator refuses because a frozen broker dropped the member; the group must not lose us.
  async function restart(err: unknown) {
    log.error({ err }, "the consumer crashed; joining the group again");
    for (let attempt = 0; !stopped; attempt++) {
      await new Promise((r) => setTimeout(r, Math.min(5_000, 200 * 2 ** attempt)));
      if (stopped) return;
      try {
        member = await joinGroup(kafka, options, () => joins++, restart);
        return;
      } catch (error) {
        log.warn({ err: error, attempt }, "cannot join the group yet; retrying");
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
}

/** One member of the group: connects, subscribes and handles messages, committing each offset after its handler. */
async function joinGroup(kafka: Kafka, options: ConsumeOptions, onJoin: () => void, onCrash: (err: unknown) => void): Promise<Consumer> {
  const { groupId, topic, sessionTimeoutMs = 30_000, heartbeatIntervalMs = 3_000, partitionsConsumedConcurrently = 1 } = options;
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
    eachBatch: (payload) => handleFetchedBatch(payload, options, highWatermarks),
  });
  return consumer;
}

/** Handles a fetched batch of one partition, keeping the membership alive and committing as it goes. */
async function handleFetchedBatch(
  { batch, heartbeat, resolveOffset, commitOffsetsIfNecessary, isRunning, isStale }: EachBatchPayload,
  { handle, heartbeatIntervalMs = 3_000, inFlightPerPartition = 1, onLag }: ConsumeOptions,
  highWatermarks: Map<number, bigint>,
): Promise<void> {
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
}

function headersOf(headers: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined) {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) out[name] = (Array.isArray(value) ? value[0] : value)?.toString() ?? "";
  }
  return out;
}
