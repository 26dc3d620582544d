import { cloudEventHeaders } from "@invoicer/platform/cloudevents";
import type { EventProducer } from "@invoicer/platform/kafka/messages";
import { isRejectedForGood } from "@invoicer/platform/kafka/producer";
import type { Logger } from "@invoicer/platform/logger";
import { and, eq, isNull, sql as expr } from "drizzle-orm";
import type { Sql, TransactionSql } from "postgres";
import { drizzleOn, type Db } from "../db/client.ts";
import { anyOf } from "../db/predicates.ts";
import { sqlNames } from "../db/raw-sql.ts";
import { outbox } from "../db/schema.ts";
import type { OutboxNotifications } from "./notifications.ts";

export interface RelayOptions {
  sql: Sql;
  producer: EventProducer;
  topic: string;
  /** Creates the topic if missing; retried with the publishing backoff until it succeeds. */
  ensureTopic: () => Promise<void>;
  /** The topic's largest accepted batch (`max.message.bytes`); batches stay under it. */
  maxMessageBytes: () => Promise<number>;
  /** Wakes the relay when a change commits. */
  notifications: OutboxNotifications;
  log: Logger;
  batchSize?: number;
  /** Payload bytes per batch at most, whatever the topic allows. */
  maxBatchBytes?: number;
  /** The fallback poll, for notifications lost while the listening connection was down. */
  pollIntervalMs?: number;
  maxBackoffMs?: number;
}

export interface OutboxRelay {
  stop(): Promise<void>;
}

/**
 * What a record adds to its payload on the wire (key, headers, framing), counted generously: the CloudEvents
 * headers with the legacy pair and traceparent come to about 430 bytes, the key and framing to about 60.
 */
const recordOverheadBytes = 768;

interface OutboxRow {
  id: string;
  invoice_id: string;
  event_type: string;
  payload: Buffer;
  traceparent: string | null;
  /** When the row was written, in epoch milliseconds: drizzle sets the shared client to return timestamps as strings. */
  created_ms: number;
}

/** A batch that was published (`published` rows), or refused for good by the broker. */
type BatchOutcome = { published: number } | { refused: OutboxRow[]; reason: string };

/**
 * Publishes committed outbox rows to Kafka and marks them published. Safe with several server
 * replicas: rows are claimed with SKIP LOCKED, and a row waits while an earlier row of its
 * invoice is unpublished, so each invoice's events reach the topic in the order they were written.
 * Batches are bounded in bytes as well as rows. A batch the broker refuses for good is split in
 * halves; a single row it refuses is set aside (parked), and only its invoice's later rows wait.
 */
export function startOutboxRelay(options: RelayOptions): OutboxRelay {
  const { sql, log, batchSize = 100, maxBatchBytes = 512 * 1024, pollIntervalMs = 5_000, maxBackoffMs = 30_000 } = options;
  const db = drizzleOn(sql);
  let stopped = false;
  let notified = false;
  let wake: (() => void) | undefined;
  const unsubscribe = options.notifications.subscribe({
    onNotify: () => {
      notified = true;
      wake?.();
    },
  });
  const pause = (ms: number, interruptible: boolean) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        if (!stopped && !interruptible) return;
        clearTimeout(timer);
        resolve();
      };
    });

  const loop = (async () => {
    let failures = 0;
    let byteLimit: number | undefined;
    let rowLimit = batchSize;
    while (!stopped) {
      notified = false;
      try {
        byteLimit ??= await batchByteLimit(options, maxBatchBytes, log);
        const outcome = await publishBatch(options, db, rowLimit, byteLimit);
        if (failures > 0) log.info({ failures }, "outbox relay recovered");
        failures = 0;
        if ("refused" in outcome) {
          // Halve until the broker takes the batch; a single row it refuses is set aside.
          if (outcome.refused.length === 1) await park(db, outcome.refused[0]!, outcome.reason, log);
          rowLimit = Math.max(1, Math.floor(outcome.refused.length / 2));
          continue;
        }
        if (outcome.published > 0) rowLimit = Math.min(batchSize, rowLimit * 2);
        if (outcome.published > 0 || notified) continue;
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
      unsubscribe();
    },
  };
}

/**
 * Publishes one batch in one transaction (BEGIN, UPDATE ... RETURNING, send, COMMIT): the marks
 * commit only once Kafka has the batch; a failed send rolls them back before attempts are counted.
 */
async function publishBatch({ sql, producer, topic }: RelayOptions, db: Db, rowLimit: number, byteLimit: number): Promise<BatchOutcome> {
  let claimed: OutboxRow[] = [];
  try {
    return await sql.begin(async (tx) => {
      claimed = await claimBatch(tx, rowLimit, byteLimit);
      if (claimed.length > 0) await producer.send(topic, claimed.map(toMessage));
      return { published: claimed.length };
    });
  } catch (err) {
    if (claimed.length === 0) throw err;
    if (isRejectedForGood(err)) return { refused: claimed, reason: reasonOf(err) };
    await countFailedAttempt(db, claimed).catch(() => undefined);
    throw Object.assign(new Error("publishing the outbox failed"), { cause: err, rows: claimed.length });
  }
}

const o = sqlNames(outbox);

/**
 * Claims the oldest claimable rows, up to $2 rows and $3 bytes ($1 added to each payload; at least one
 * row), and marks them published. Hand-written for what drizzle cannot say (a row lock taken in a CTE,
 * SKIP LOCKED on one table of it, a running sum), and prepared: the relay runs it for every batch.
 */
const claimBatchSql = `
    with candidates as (
      select o.${o.id}, o.${o.position}, octet_length(o.${o.payload}) + $1::int as bytes
      from ${o.$table} o
      where o.${o.publishedAt} is null and o.${o.parkedAt} is null
        and not exists (
          select 1 from ${o.$table} e
          where e.${o.invoiceId} = o.${o.invoiceId} and e.${o.publishedAt} is null and e.${o.position} < o.${o.position})
      order by o.${o.position}
      limit $2
      for update of o skip locked),
    batch as (
      select ${o.id} from (
        select ${o.id}, sum(bytes) over (order by ${o.position}) as upto, row_number() over (order by ${o.position}) as n from candidates) c
      where c.upto <= $3 or c.n = 1),
    claimed as (
      update ${o.$table} set ${o.publishedAt} = now()
      where ${o.id} in (select ${o.id} from batch)
      returning ${o.id}, ${o.position}, ${o.invoiceId}, ${o.eventType}, ${o.payload}, ${o.traceparent}, ${o.createdAt})
    select ${o.id} as id, ${o.invoiceId} as invoice_id, ${o.eventType} as event_type, ${o.payload} as payload,
      ${o.traceparent} as traceparent, (extract(epoch from ${o.createdAt}) * 1000)::float8 as created_ms
    from claimed order by ${o.position}`;

/** Claims the oldest claimable rows, up to `rowLimit` rows and `byteLimit` bytes (at least one row), and marks them published. */
function claimBatch(tx: TransactionSql, rowLimit: number, byteLimit: number): Promise<OutboxRow[]> {
  return tx.unsafe<OutboxRow[]>(claimBatchSql, [recordOverheadBytes, rowLimit, byteLimit], { prepare: true });
}

/** Counts a failed send against the rows it carried (those not published meanwhile). */
async function countFailedAttempt(db: Db, rows: OutboxRow[]): Promise<void> {
  const ids = rows.map((r) => r.id);
  await db
    .update(outbox)
    .set({ attempts: expr`${outbox.attempts} + 1` })
    .where(and(anyOf(outbox.id, ids), isNull(outbox.publishedAt)));
}

/** Sets a row the broker refuses for good aside, so that only its invoice's later rows wait. */
async function park(db: Db, row: OutboxRow, reason: string, log: Logger): Promise<void> {
  await db
    .update(outbox)
    .set({ parkedAt: expr`now()`, parkReason: reason })
    .where(and(eq(outbox.id, row.id), isNull(outbox.publishedAt)));
  log.error(
    { eventId: row.id, invoiceId: row.invoice_id, eventType: row.event_type, bytes: row.payload.length, reason },
    "outbox row set aside: the broker refuses it; later events of its invoice wait (npm run outbox -- parked)",
  );
}

/** Bytes a batch may hold: the configured cap, or less when the topic takes less. */
async function batchByteLimit(options: RelayOptions, maxBatchBytes: number, log: Logger): Promise<number> {
  await options.ensureTopic();
  const topicLimit = await options.maxMessageBytes().catch((err: unknown) => {
    log.warn({ err }, "cannot read the topic's max.message.bytes; batches keep to OUTBOX_MAX_BATCH_BYTES");
    return Number.POSITIVE_INFINITY;
  });
  // The batch's own header and the request around it take a little of the topic's limit.
  return Math.max(1, Math.min(maxBatchBytes, topicLimit - 4 * 1024));
}

/** The broker's reason, without the message content: the error type and its text. */
function reasonOf(err: unknown): string {
  for (
    let e = err as { type?: string; message?: string; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    e = e.cause as typeof e, depth++
  ) {
    if (e.type) return `${e.type}: ${e.message ?? ""}`.slice(0, 500);
  }
  return String((err as Error)?.message ?? err).slice(0, 500);
}

function toMessage(row: OutboxRow) {
  // CloudEvents binary mode: the context in `ce_` headers, the key stays the invoice id so its events keep their order.
  const headers = cloudEventHeaders({ id: row.id, type: row.event_type, time: new Date(Number(row.created_ms)), subject: row.invoice_id });
  if (row.traceparent) headers.traceparent = row.traceparent;
  return { key: row.invoice_id, value: row.payload, headers };
}
