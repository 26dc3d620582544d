// Where the services meet the Kafka client library: they see `EventBus` and the types of
// messages.ts, and the modules of this folder alone import kafkajs for them, so swapping kafkajs
// changes this folder. Tooling talks to the broker with plain kafkajs as an outside client would
// (devstack/src/topics.ts, bench/stack.ts, faults/, test/outbox-limits.test.ts); the kafkajs patch's
// tests load kafkajs internals (test/unit/kafka-*.test.ts).
import { Kafka, logLevel, type Admin, type LogEntry } from "kafkajs";
import type { Logger } from "../logger.ts";
import { consumeAsMember, type ConsumeOptions, type Subscription } from "./group-member.ts";
import type { EventProducer } from "./messages.ts";
import { idempotentProducer } from "./producer.ts";
import { createMissingTopics, maxMessageBytes, type TopicSpec } from "./topics.ts";

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
  // An admin client for one question, disconnected after it.
  async function withAdmin<T>(ask: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return await ask(admin);
    } finally {
      await admin.disconnect();
    }
  }
  return {
    ensureTopics: (topics) => withAdmin((admin) => createMissingTopics(admin, topics)),
    maxMessageBytes: (topic) => withAdmin((admin) => maxMessageBytes(admin, topic)),
    producer: () => idempotentProducer(kafka),
    consume: (consumeOptions) => consumeAsMember(kafka, consumeOptions, options.log),
  };
}

function logEntry(log: Logger, { level, label, log: { message, ...fields } }: LogEntry) {
  const context = { kafka: { label, ...fields } };
  if (level === logLevel.ERROR || level === logLevel.NOTHING) log.error(context, message);
  else if (level === logLevel.WARN) log.warn(context, message);
  else log.debug(context, message);
}
