import { and, sql as expr } from "drizzle-orm";
import type { Sql } from "postgres";
import { drizzleOn } from "../db/client.ts";
import { anyOf, parkedRows } from "../db/predicates.ts";
import { outbox } from "../db/schema.ts";
import { wakeOutboxRelays } from "./outbox-writer.ts";

export interface ParkedEvent {
  id: string;
  invoiceId: string;
  eventType: string;
  bytes: number;
  parkedAt: Date;
  reason: string;
}

/** Outbox rows the broker refused for good, oldest first. */
export async function listParked(sql: Sql): Promise<ParkedEvent[]> {
  const rows = await drizzleOn(sql)
    .select({
      id: outbox.id,
      invoiceId: outbox.invoiceId,
      eventType: outbox.eventType,
      bytes: expr<number>`octet_length(${outbox.payload})`,
      parkedAt: outbox.parkedAt,
      reason: expr<string>`coalesce(${outbox.parkReason}, '')`,
    })
    .from(outbox)
    .where(parkedRows)
    .orderBy(outbox.position);
  return rows.map((row) => ({ ...row, parkedAt: row.parkedAt! })); // set on every parked row
}

/**
 * Puts parked rows back in line for the relay (every parked row when `ids` is empty), for
 * instance after the topic's max.message.bytes was raised; wakes the relays. Returns how many.
 */
export async function retryParked(sql: Sql, ids: string[] = []): Promise<number> {
  return drizzleOn(sql).transaction(async (tx) => {
    const rows = await tx
      .update(outbox)
      .set({ parkedAt: null, parkReason: null, attempts: 0 })
      .where(and(parkedRows, ids.length === 0 ? undefined : anyOf(outbox.id, ids)))
      .returning({ id: outbox.id });
    await wakeOutboxRelays(tx);
    return rows.length;
  });
}
