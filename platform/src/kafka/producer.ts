import { Partitioners, type Kafka } from "kafkajs";
import type { EventProducer } from "./messages.ts";

/**
 * An idempotent producer that waits for every in-sync replica, started afresh (a new producer id)
 * after any failed send.
 */
export function idempotentProducer(kafka: Kafka): EventProducer {
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
