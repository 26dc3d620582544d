import type { Sql } from "postgres";
import { outboxChannel } from "./outbox-writer.ts";

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
  return sql<ParkedEvent[]>`
    select id, invoice_id as "invoiceId", event_type as "eventType", octet_length(payload) as bytes,
      parked_at as "parkedAt", coalesce(park_reason, '') as reason
    from outbox where parked_at is not null and published_at is null order by position`;
}

/**
 * Puts parked rows back in line for the relay (every parked row when `ids` is empty), for
 * instance after the topic's max.message.bytes was raised; wakes the relays. Returns how many.
 */
export async function retryParked(sql: Sql, ids: string[] = []): Promise<number> {
  return sql.begin(async (tx) => {
    const rows = await tx`
      update outbox set parked_at = null, park_reason = null, attempts = 0
      where parked_at is not null and published_at is null
        and (${ids.length === 0} or id = any(${ids}::uuid[]))
      returning id`;
    await tx`select pg_notify(${outboxChannel}, '')`;
    return rows.length;
  });
}
