// Writing to the outbox: the row of an event, in the transaction of the change it describes,
// and the NOTIFY that wakes the relay and the watchers when that transaction commits.
import { traceHeaders } from "@invoicer/platform/telemetry";
import { sql } from "drizzle-orm";
import type { TransactionSql } from "postgres";
import type { Db, Tx } from "../db/client.ts";
import { insertRow, sqlNames, type RowOf } from "../db/raw-sql.ts";
import { outbox } from "../db/schema.ts";

/** NOTIFY channel of committed outbox rows; the payload is "<tenant id>/<event id>". */
export const outboxChannel = "invoicer_outbox";

/** Wakes every server's relay (they LISTEN on the outbox channel), once the transaction commits. */
export async function wakeOutboxRelays(db: Db | Tx): Promise<void> {
  await db.execute(sql`select pg_notify(${outboxChannel}, '')`);
}

/** An event to write to the outbox in the transaction of the change it describes. */
export interface OutboxEvent {
  id: string;
  eventType: string;
  payload: Uint8Array;
}

/** The columns an event's row is written with; the others keep their defaults. */
export const outboxRowColumns = ["id", "tenantId", "invoiceId", "eventType", "payload", "traceparent"] as const;
export type OutboxRow = RowOf<typeof outbox, (typeof outboxRowColumns)[number]>;

/** The row of an invoice's event, with the change's trace context (W3C traceparent) so the trace continues past the broker. */
export function outboxRow(tenantId: string, invoiceId: string, event: OutboxEvent): OutboxRow {
  return { id: event.id, tenantId, invoiceId, eventType: event.eventType, payload: event.payload, traceparent: newTraceparent() };
}

/** The NOTIFY payload of a written row. */
export const notifyPayload = (row: OutboxRow) => `${row.tenantId}/${row.id}`;

/**
 * An event's row and its NOTIFY in SQL, parameters numbered from `first`: `cte` inserts the row
 * (a WITH item named `event`), `notify` queues the NOTIFY. One shape for every outbox write.
 */
export function eventStatement(first: number) {
  const insert = insertRow(outbox, outboxRowColumns, first);
  return {
    cte: `event as (
  insert into ${sqlNames(outbox).$table} (${insert.columns})
  values (${insert.placeholders}))`,
    notify: `pg_notify($${insert.next}, $${insert.next + 1})`,
    params: (row: OutboxRow) => [...insert.params(row), outboxChannel, notifyPayload(row)],
  };
}

// One statement: the row and the NOTIFY. The relay also polls, so a lost notification only delays publishing.
const eventWrite = eventStatement(1);
const writeEventSql = `with ${eventWrite.cte}
select ${eventWrite.notify}`;

/** Writes an event in the change's transaction (postgresTransactionOf a drizzle one); at commit it wakes the relay and the watchers. */
export async function writeOutbox(tx: TransactionSql, tenantId: string, invoiceId: string, event: OutboxEvent) {
  const row = outboxRow(tenantId, invoiceId, event);
  await tx.unsafe(writeEventSql, eventWrite.params(row), { prepare: true });
}

/** The change's trace context (W3C traceparent), stored with its event so the trace continues past the broker. */
export function newTraceparent(): string | null {
  return traceHeaders().traceparent ?? null;
}
