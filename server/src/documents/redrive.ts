import type { Sql } from "postgres";
import { outboxChannel } from "../outbox/outbox-writer.ts";

/**
 * Publishes again the `invoice.issued` event of invoices whose documents are still PENDING after
 * `pendingForMs` (or of the given invoices): the consumer renders and attaches them as if the event
 * were new; an invoice that got its documents meanwhile changes nothing. Returns the invoices re-driven.
 * The event keeps its id, so consumers that dedupe by event id see a redelivery.
 */
export async function redriveDocuments(
  sql: Sql,
  { pendingForMs, invoiceIds = [] }: { pendingForMs: number; invoiceIds?: string[] },
): Promise<string[]> {
  return sql.begin(async (tx) => {
    const rows = await tx<{ invoice_id: string }[]>`
      update outbox o set published_at = null, attempts = 0
      from invoices i
      where o.invoice_id = i.id and o.event_type = 'invoice.issued' and o.published_at is not null
        and i.document_status = 'PENDING'
        and i.created_at < now() - make_interval(secs => ${pendingForMs / 1000})
        and (${invoiceIds.length === 0} or i.id = any(${invoiceIds}::uuid[]))
      returning o.invoice_id`;
    await tx`select pg_notify(${outboxChannel}, '')`;
    return rows.map((r) => r.invoice_id);
  });
}
