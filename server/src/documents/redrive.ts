import { and, eq, lt } from "drizzle-orm";
import type { Sql } from "postgres";
import { drizzleOn } from "../db/client.ts";
import { anyOf, awaitingDocuments, msAgo } from "../db/predicates.ts";
import { invoices, outbox } from "../db/schema.ts";
import { eventTypes } from "../invoices/events.ts";
import { wakeOutboxRelays } from "../outbox/outbox-writer.ts";

export interface Redrive {
  /** Invoices whose `invoice.issued` event goes out again. */
  redriven: string[];
  /** Invoices still PENDING but paid or voided since: left alone, their issued event would follow the newer state. */
  movedOn: string[];
}

/**
 * Publishes again the `invoice.issued` event of still-ISSUED invoices whose documents are PENDING
 * `pendingForMs` after that event went to the broker (or of the given invoices among them): the
 * consumer renders and attaches them as if the event were new; an invoice that got its documents
 * meanwhile changes nothing. The event keeps its id, so consumers that dedupe by event id see a
 * redelivery. The invoices are locked, so a pay or void waits and its event follows the redelivery.
 */
export async function redriveDocuments(
  sql: Sql,
  { pendingForMs, invoiceIds = [] }: { pendingForMs: number; invoiceIds?: string[] },
): Promise<Redrive> {
  return drizzleOn(sql).transaction(async (tx) => {
    const rows = await tx
      .select({ id: invoices.id, status: invoices.status })
      .from(invoices)
      .innerJoin(outbox, eq(outbox.invoiceId, invoices.id))
      .where(
        and(
          eq(outbox.eventType, eventTypes.issued),
          awaitingDocuments,
          lt(outbox.publishedAt, msAgo(pendingForMs)),
          invoiceIds.length === 0 ? undefined : anyOf(invoices.id, invoiceIds),
        ),
      )
      .orderBy(invoices.id)
      .for("update", { of: invoices });
    const redriven = rows.filter((r) => r.status === "ISSUED").map((r) => r.id);
    if (redriven.length > 0) {
      await tx
        .update(outbox)
        .set({ publishedAt: null, attempts: 0 })
        .where(and(anyOf(outbox.invoiceId, redriven), eq(outbox.eventType, eventTypes.issued)));
    }
    await wakeOutboxRelays(tx);
    return { redriven, movedOn: rows.filter((r) => r.status !== "ISSUED").map((r) => r.id) };
  });
}
