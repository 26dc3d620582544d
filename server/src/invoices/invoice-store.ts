import { randomBytes } from "node:crypto";
import { and, asc, desc, eq, inArray, lt, sql } from "drizzle-orm";
import type { Db, Tx } from "../db/client.ts";
import {
  idempotencyKeys,
  invoiceCounters,
  invoiceLines,
  invoices,
  outbox,
  type PartyRecord,
} from "../db/schema.ts";
import type { Pricing } from "../domain/pricing.ts";

export type InvoiceRow = typeof invoices.$inferSelect;
export type LineRow = typeof invoiceLines.$inferSelect;
export type InvoiceRecord = InvoiceRow & { lines: LineRow[] };
export type InvoiceStatusName = InvoiceRow["status"];

/** An event to write to the outbox in the transaction of the change it describes. */
export interface OutboxEvent {
  id: string;
  eventType: string;
  payload: Uint8Array;
}

export interface NewInvoice {
  id: string;
  tenantId: string;
  idempotencyKey: string;
  requestHash: string;
  currencyCode: string;
  seller: PartyRecord;
  buyer: PartyRecord;
  lines: { description: string; quantity: bigint; unitPriceMinor: bigint; vatRateBp: number }[];
  pricing: Pricing;
  issueDate: string;
  supplyDate: string;
  dueDate: string;
  note: string;
}

export type IssueResult =
  | { kind: "issued"; invoice: InvoiceRecord }
  | { kind: "replayed"; invoice: InvoiceRecord }
  | { kind: "key-reused" };

/**
 * Issues an invoice in one transaction: claims the idempotency key, takes the tenant's next
 * number from its counter row, inserts the invoice, its lines and the outbox event.
 * `beforeCommit` runs last and may throw to roll everything back (an expired deadline).
 */
export async function issueInvoice(
  db: Db,
  draft: NewInvoice,
  eventFor: (invoice: InvoiceRecord) => OutboxEvent,
  beforeCommit: () => void,
): Promise<IssueResult> {
  return db.transaction(async (tx) => {
    // Blocks while a concurrent request holds the same key, then sees its committed row.
    const claimed = await tx
      .insert(idempotencyKeys)
      .values({ tenantId: draft.tenantId, key: draft.idempotencyKey, requestHash: draft.requestHash, invoiceId: draft.id })
      .onConflictDoNothing()
      .returning({ invoiceId: idempotencyKeys.invoiceId });
    if (claimed.length === 0) return replay(tx, draft);

    const [counter] = await tx
      .insert(invoiceCounters)
      .values({ tenantId: draft.tenantId, lastNumber: 1n })
      .onConflictDoUpdate({ target: invoiceCounters.tenantId, set: { lastNumber: sql`${invoiceCounters.lastNumber} + 1` } })
      .returning({ number: invoiceCounters.lastNumber });
    const { pricing } = draft;
    const [row] = await tx
      .insert(invoices)
      .values({
        id: draft.id,
        tenantId: draft.tenantId,
        number: counter!.number,
        status: "ISSUED",
        documentStatus: "PENDING",
        currencyCode: draft.currencyCode,
        seller: draft.seller,
        buyer: draft.buyer,
        vatBreakdown: pricing.vatBreakdown.map((b) => ({
          vatRateBp: b.vatRateBp,
          taxableMinor: b.taxableMinor.toString(),
          vatMinor: b.vatMinor.toString(),
        })),
        subtotalMinor: pricing.subtotalMinor,
        vatTotalMinor: pricing.vatTotalMinor,
        totalMinor: pricing.totalMinor,
        issueDate: draft.issueDate,
        supplyDate: draft.supplyDate,
        dueDate: draft.dueDate,
        note: draft.note,
      })
      .returning();
    const lines = await tx
      .insert(invoiceLines)
      .values(draft.lines.map((line, position) => ({ ...line, invoiceId: draft.id, position, netMinor: pricing.netMinor[position]! })))
      .returning();
    const invoice = { ...row!, lines: lines.sort((a, b) => a.position - b.position) };
    await writeOutbox(tx, draft.tenantId, invoice.id, eventFor(invoice));
    beforeCommit();
    return { kind: "issued", invoice };
  });
}

async function replay(tx: Tx, draft: NewInvoice): Promise<IssueResult> {
  const [first] = await tx
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.tenantId, draft.tenantId), eq(idempotencyKeys.key, draft.idempotencyKey)));
  if (!first || first.requestHash !== draft.requestHash) return { kind: "key-reused" };
  const invoice = await findInvoice(tx, draft.tenantId, first.invoiceId);
  return invoice ? { kind: "replayed", invoice } : { kind: "key-reused" };
}

/** The tenant's invoice with its lines, or undefined: another tenant's invoice is not found. */
export async function findInvoice(db: Db | Tx, tenantId: string, id: string): Promise<InvoiceRecord | undefined> {
  const [row] = await db.select().from(invoices).where(and(eq(invoices.tenantId, tenantId), eq(invoices.id, id)));
  if (!row) return undefined;
  const lines = await db.select().from(invoiceLines).where(eq(invoiceLines.invoiceId, id)).orderBy(asc(invoiceLines.position));
  return { ...row, lines };
}

/** One page of the tenant's invoices, newest number first, starting below `beforeNumber`. */
export async function listInvoices(
  db: Db,
  tenantId: string,
  page: { limit: number; beforeNumber?: bigint; status?: InvoiceStatusName },
): Promise<InvoiceRecord[]> {
  const rows = await db
    .select()
    .from(invoices)
    .where(
      and(
        eq(invoices.tenantId, tenantId),
        page.status ? eq(invoices.status, page.status) : undefined,
        page.beforeNumber !== undefined ? lt(invoices.number, page.beforeNumber) : undefined,
      ),
    )
    .orderBy(desc(invoices.number))
    .limit(page.limit);
  if (rows.length === 0) return [];
  const lines = await db
    .select()
    .from(invoiceLines)
    .where(inArray(invoiceLines.invoiceId, rows.map((r) => r.id)))
    .orderBy(asc(invoiceLines.position));
  return rows.map((row) => ({ ...row, lines: lines.filter((l) => l.invoiceId === row.id) }));
}

export type TransitionResult =
  | { kind: "changed"; invoice: InvoiceRecord }
  | { kind: "not-found" }
  | { kind: "wrong-status"; status: InvoiceStatusName };

/** Moves an ISSUED invoice to PAID or VOID with its outbox event, in one transaction. */
export async function settleInvoice(
  db: Db,
  tenantId: string,
  id: string,
  to: "PAID" | "VOID",
  voidReason: string,
  eventFor: (invoice: InvoiceRecord) => OutboxEvent,
  beforeCommit: () => void,
): Promise<TransitionResult> {
  return db.transaction(async (tx) => {
    const changes = to === "PAID" ? { status: to, paidAt: new Date() } : { status: to, voidedAt: new Date(), voidReason };
    const updated = await tx
      .update(invoices)
      .set(changes)
      .where(and(eq(invoices.tenantId, tenantId), eq(invoices.id, id), eq(invoices.status, "ISSUED")))
      .returning({ id: invoices.id });
    const invoice = await findInvoice(tx, tenantId, id);
    if (!invoice) return { kind: "not-found" };
    if (updated.length === 0) return { kind: "wrong-status", status: invoice.status };
    await writeOutbox(tx, tenantId, id, eventFor(invoice));
    beforeCommit();
    return { kind: "changed", invoice };
  });
}

/** Writes an event in the change's transaction; at commit it wakes the relay and the watchers. */
export async function writeOutbox(tx: Tx, tenantId: string, invoiceId: string, event: OutboxEvent) {
  await tx.insert(outbox).values({
    id: event.id,
    tenantId,
    invoiceId,
    eventType: event.eventType,
    payload: event.payload,
    traceparent: newTraceparent(),
  });
  // The relay also polls, so a lost notification only delays publishing.
  await tx.execute(sql`select pg_notify(${outboxChannel}, ${`${tenantId}/${event.id}`})`);
}

/** NOTIFY channel of committed outbox rows; the payload is "<tenant id>/<event id>". */
export const outboxChannel = "invoicer_outbox";

/** A W3C trace context for the event, so the broker hop can be followed. */
function newTraceparent(): string {
  return `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-01`;
}
