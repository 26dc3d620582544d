import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { invoiceDocuments, invoices } from "../db/schema.ts";
import { findInvoice, type InvoiceRecord } from "../invoices/invoice-store.ts";
import { writeOutbox, type OutboxEvent } from "../outbox/outbox-writer.ts";

export type DocumentFormatName = (typeof invoiceDocuments.$inferSelect)["format"];

export interface RenderedDocument {
  format: DocumentFormatName;
  contentType: string;
  content: Uint8Array;
}

export type AttachResult = { kind: "attached" } | { kind: "already-attached" } | { kind: "not-found" };

/**
 * Stores an invoice's rendered documents, marks it READY and writes the document-ready event,
 * in one transaction. A second delivery of the same event finds the documents and changes nothing.
 */
export async function attachDocuments(
  db: Db,
  target: { tenantId: string; invoiceId: string; eventId: string },
  documents: RenderedDocument[],
  eventFor: (invoice: InvoiceRecord) => OutboxEvent,
): Promise<AttachResult> {
  return db.transaction(async (tx) => {
    const { tenantId, invoiceId, eventId } = target;
    // Locks the invoice so its events stay in order with a concurrent pay or void.
    const locked = await tx.execute(sql`select 1 from invoices where tenant_id = ${tenantId} and id = ${invoiceId} for update`);
    if (locked.length === 0) return { kind: "not-found" };
    const inserted = await tx
      .insert(invoiceDocuments)
      .values(documents.map((d) => ({ invoiceId, tenantId, eventId, ...d })))
      .onConflictDoNothing()
      .returning({ format: invoiceDocuments.format });
    if (inserted.length === 0) return { kind: "already-attached" };
    await tx.update(invoices).set({ documentStatus: "READY" }).where(eq(invoices.id, invoiceId));
    const invoice = await findInvoice(tx, tenantId, invoiceId);
    await writeOutbox(tx, tenantId, invoiceId, eventFor(invoice!));
    return { kind: "attached" };
  });
}

/** One rendered document of the tenant's invoice, if it has been attached. */
export async function findDocument(db: Db, tenantId: string, invoiceId: string, format: DocumentFormatName) {
  const [row] = await db
    .select({ contentType: invoiceDocuments.contentType, content: invoiceDocuments.content })
    .from(invoiceDocuments)
    .where(and(eq(invoiceDocuments.tenantId, tenantId), eq(invoiceDocuments.invoiceId, invoiceId), eq(invoiceDocuments.format, format)));
  return row;
}
