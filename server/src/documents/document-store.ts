import { and, eq } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { insertRow, paramOf, postgresClientOf, rowReader, sqlNames } from "../db/raw-sql.ts";
import { invoiceDocuments, invoiceLines, invoices } from "../db/schema.ts";
import type { InvoiceRecord } from "../invoices/invoice-store.ts";
import { writeOutbox, type OutboxEvent } from "../outbox/outbox-writer.ts";

export type DocumentFormatName = (typeof invoiceDocuments.$inferSelect)["format"];

export interface RenderedDocument {
  format: DocumentFormatName;
  contentType: string;
  content: Uint8Array;
}

export type AttachResult = { kind: "attached" } | { kind: "already-attached" } | { kind: "not-found" };

/** `make`, remembering each answer. */
function memoized<T>(make: (n: number) => T): (n: number) => T {
  const made = new Map<number, T>();
  return (n) => made.get(n) ?? (made.set(n, make(n)), made.get(n)!);
}

const [i, d, l] = [sqlNames(invoices), sqlNames(invoiceDocuments), sqlNames(invoiceLines)];
const documentColumns = ["format", "contentType", "content"] as const;
/** The parameters of the `n`th document, numbered after the invoice's and the event's. */
const documentInsert = memoized((n: number) => insertRow(invoiceDocuments, documentColumns, 4 + n * documentColumns.length));

/**
 * Locks the invoice, so its events stay in order with a concurrent pay or void, and stores the
 * `count` documents a first delivery brings: whether the invoice is the tenant's, and how many were
 * stored. One text per count (one per format at most): postgres.js sends no bytea arrays.
 */
const storeDocumentsSql = memoized((count: number) => {
  const rows = Array.from({ length: count }, (_, n) => `(${documentInsert(n).placeholders})`);
  return `with invoice as (
  select ${i.id} from ${i.$table} where ${i.tenantId} = ${paramOf(1, invoices.tenantId)} and ${i.id} = ${paramOf(2, invoices.id)} for update),
stored as (
  insert into ${d.$table} (${d.invoiceId}, ${d.tenantId}, ${d.eventId}, ${documentInsert(0).columns})
  select invoice.${i.id}, ${paramOf(1, invoiceDocuments.tenantId)}, ${paramOf(3, invoiceDocuments.eventId)}, document.*
  from invoice, (values ${rows.join(", ")}) as document
  on conflict do nothing
  returning 1)
select (select count(*) from invoice)::int as found, (select count(*) from stored)::int as stored`;
});
/** Marks the locked invoice READY and reads it back. */
const markReadySql = `update ${i.$table} set ${i.documentStatus} = ${paramOf(2, invoices.documentStatus)} where ${i.id} = ${paramOf(1, invoices.id)} returning *`;
const linesSql = `select * from ${l.$table} where ${l.invoiceId} = ${paramOf(1, invoiceLines.invoiceId)} order by ${l.position}`;
const [invoiceRow, lineRow] = [rowReader(invoices), rowReader(invoiceLines)];

/**
 * Stores an invoice's rendered documents, marks it READY and writes the document-ready event,
 * in one transaction. A second delivery of the same event finds the documents and changes nothing.
 * Four prepared statements: lock and store, mark READY, its lines, the event.
 */
export async function attachDocuments(
  db: Db,
  target: { tenantId: string; invoiceId: string; eventId: string },
  documents: RenderedDocument[],
  eventFor: (invoice: InvoiceRecord) => OutboxEvent,
): Promise<AttachResult> {
  const { tenantId, invoiceId, eventId } = target;
  return postgresClientOf(db).begin(async (tx): Promise<AttachResult> => {
    const prepared = { prepare: true } as const;
    const [outcome] = await tx.unsafe<{ found: number; stored: number }[]>(
      storeDocumentsSql(documents.length),
      [tenantId, invoiceId, eventId, ...documents.flatMap((document, n) => documentInsert(n).params(document))],
      prepared,
    );
    if (!outcome?.found) return { kind: "not-found" };
    if (outcome.stored === 0) return { kind: "already-attached" };
    const [row] = await tx.unsafe(markReadySql, [invoiceId, "READY"], prepared);
    const lines = await tx.unsafe(linesSql, [invoiceId], prepared);
    const invoice = { ...invoiceRow(row!), lines: lines.map(lineRow) };
    await writeOutbox(tx, tenantId, invoiceId, eventFor(invoice));
    return { kind: "attached" };
  });
}

/** One rendered document of the tenant's invoice with the SHA-256 stored with it, if it has been attached. */
export async function findDocument(db: Db, tenantId: string, invoiceId: string, format: DocumentFormatName) {
  const [row] = await db
    .select({ contentType: invoiceDocuments.contentType, content: invoiceDocuments.content, sha256: invoiceDocuments.sha256 })
    .from(invoiceDocuments)
    .where(and(eq(invoiceDocuments.tenantId, tenantId), eq(invoiceDocuments.invoiceId, invoiceId), eq(invoiceDocuments.format, format)));
  return row;
}
