import type { EventProducer } from "@invoicer/platform/kafka";
import type { Logger } from "@invoicer/platform/logger";
import type { Sql } from "postgres";
import { outboxChannel } from "../invoices/invoice-store.ts";

export interface RelayOptions {
  sql: Sql;
  producer: EventProducer;
  topic: string;
  /** Creates the topic if missing; retried with the publishing backoff until it succeeds. */
  ensureTopic: () => Promise<void>;
  log: Logger;
  batchSize?: number;
  /** The fallback poll, for notifications lost while the listening connection was down. */
  pollIntervalMs?: number;
  maxBackoffMs?: number;
}

export interface OutboxRelay {
  stop(): Promise<void>;
}

export const eventContentType = "application/x-protobuf; messageType=invoicer.v1.InvoiceEvent";

interface OutboxRow {
  id: string;
  invoice_id: string;
  event_type: string;
  payload: Buffer;
  traceparent: string | null;
}

/**
 * Publishes committed outbox rows to Kafka and marks them published. Safe with several server
 * replicas: rows are claimed with SKIP LOCKED, and a row waits while an earlier row of its
 * invoice is unpublished, so each invoice's events reach the topic in the order they were written.
 */
export function startOutboxRelay({ sql, producer, topic, ensureTopic, log, batchSize = 100, pollIntervalMs = 5_000, maxBackoffMs = 30_000 }: RelayOptions): OutboxRelay {
  let stopped = false;
  let notified = false;
  let wake: (() => void) | undefined;
  const alarm = () => {
    notified = true;
    wake?.();
  };
  const pause = (ms: number, interruptible: boolean) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        if (stopped || interruptible) (clearTimeout(timer), resolve());
      };
    });
  const listening = sql.listen(outboxChannel, alarm).catch((err: unknown) => {
    log.warn({ err }, "outbox relay cannot LISTEN; polling only");
    return undefined;
  });

  /**
   * Publishes one batch; returns how many rows it published. One statement claims and marks the
   * rows (BEGIN, UPDATE ... RETURNING, send, COMMIT): the marks commit only once Kafka has the
   * batch, and a failed send rolls them back before its attempts are counted.
   */
  const publishBatch = async () => {
    let claimed: OutboxRow[] = [];
    try {
      return await sql.begin(async (tx) => {
        claimed = await tx<OutboxRow[]>`
          with claimed as (
            update outbox set published_at = now()
            where id in (
              select o.id
              from outbox o
              where o.published_at is null
                and not exists (
                  select 1 from outbox e
                  where e.invoice_id = o.invoice_id and e.published_at is null and e.position < o.position)
              order by o.position
              limit ${batchSize}
              for update of o skip locked)
            returning id, position, invoice_id, event_type, payload, traceparent)
          select id, invoice_id, event_type, payload, traceparent from claimed order by position`;
        if (claimed.length === 0) return 0;
        await producer.send(topic, claimed.map(toMessage));
        return claimed.length;
      });
    } catch (err) {
      if (claimed.length === 0) throw err;
      const ids = claimed.map((r) => r.id);
      await sql`update outbox set attempts = attempts + 1 where id = any(${ids}::uuid[]) and published_at is null`.catch(() => undefined);
      throw Object.assign(new Error("publishing the outbox failed"), { cause: err, rows: claimed.length });
    }
  };

  const loop = (async () => {
    let failures = 0;
    let topicReady = false;
    while (!stopped) {
      notified = false;
      try {
        if (!topicReady) topicReady = (await ensureTopic(), true);
        const published = await publishBatch();
        if (failures > 0) log.info({ failures }, "outbox relay recovered");
        failures = 0;
        if (published > 0 || notified) continue;
        await pause(pollIntervalMs, true);
      } catch (err) {
        failures++;
        const backoff = Math.min(maxBackoffMs, 100 * 2 ** Math.min(failures, 16));
        log.warn({ err, failures, retryInMs: backoff }, "outbox relay failed; rows stay in the outbox");
        await pause(backoff, false);
      }
    }
  })();

  return {
    async stop() {
      stopped = true;
      wake?.();
      await loop;
      await (await listening)?.unlisten();
    },
  };
}

function toMessage(row: OutboxRow) {
  const headers: Record<string, string> = {
    "event-id": row.id,
    "event-type": row.event_type,
    "content-type": eventContentType,
  };
  if (row.traceparent) headers.traceparent = row.traceparent;
  return { key: row.invoice_id, value: row.payload, headers };
}
