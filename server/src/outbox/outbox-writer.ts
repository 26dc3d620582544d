// Writing to the outbox: the row of an event, in the transaction of the change it describes,
// and the NOTIFY that wakes the relay and the watchers when that transaction commits.
import { traceHeaders } from "@invoicer/platform/telemetry";
import { sql } from "drizzle-orm";
import type { Tx } from "../db/client.ts";
import { sqlNames, type RowOf } from "../db/raw-sql.ts";
import { outbox } from "../db/schema.ts";

/** NOTIFY channel of committed outbox rows; the payload is "<tenant id>/<event id>". */
export const outboxChannel = "invoicer_outbox";

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

const o = sqlNames(outbox);

/** Writes an event in the change's transaction; at commit it wakes the relay and the watchers. */
export async function writeOutbox(tx: Tx, tenantId: string, invoiceId: string, event: OutboxEvent) {
  const row = outboxRow(tenantId, invoiceId, event);
  // One statement: the row and the NOTIFY. The relay also polls, so a lost notification only delays publishing.
  await tx.execute(sql`with event as (
    insert into ${sql.raw(o.$table)} (${sql.raw(`${o.id}, ${o.tenantId}, ${o.invoiceId}, ${o.eventType}, ${o.payload}, ${o.traceparent}`)})
    values (${row.id}, ${row.tenantId}, ${row.invoiceId}, ${row.eventType}, ${Buffer.from(row.payload)}, ${row.traceparent}))
    select pg_notify(${outboxChannel}, ${notifyPayload(row)})`);
}

/** The change's trace context (W3C traceparent), stored with its event so the trace continues past the broker. */
export function newTraceparent(): string | null {
  return traceHeaders().traceparent ?? null;
}
