import type { Sql } from "postgres";
import { outboxChannel } from "../outbox/outbox-writer.ts";

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
  return sql.begin(async (tx) => {
    const rows = await tx<{ invoice_id: string; status: string }[]>`
      select i.id as invoice_id, i.status from invoices i join outbox o on o.invoice_id = i.id
      where o.event_type = 'invoice.issued' and i.document_status = 'PENDING'
        and o.published_at < now() - make_interval(secs => ${pendingForMs / 1000})
        and (${invoiceIds.length === 0} or i.id = any(${invoiceIds}::uuid[]))
      order by i.id
      for update of i`;
    const redriven = rows.filter((r) => r.status === "ISSUED").map((r) => r.invoice_id);
    await tx`
      update outbox set published_at = null, attempts = 0
      where invoice_id = any(${redriven}::uuid[]) and event_type = 'invoice.issued'`;
    await tx`select pg_notify(${outboxChannel}, '')`;
    return { redriven, movedOn: rows.filter((r) => r.status !== "ISSUED").map((r) => r.invoice_id) };
  });
}
