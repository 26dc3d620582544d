import { and, asc, desc, eq, inArray, lt } from "drizzle-orm";
import type { Db, Tx } from "../db/client.ts";
import { postgresClientOf, sqlNames } from "../db/raw-sql.ts";
import {
  idempotencyKeys,
  invoiceCounters,
  invoiceLines,
  invoices,
  outbox,
  type PartyRecord,
} from "../db/schema.ts";
import type { Pricing } from "../domain/pricing.ts";
import { newTraceparent, outboxChannel, writeOutbox, type OutboxEvent } from "../outbox/outbox-writer.ts";

export type InvoiceRow = typeof invoices.$inferSelect;
export type LineRow = typeof invoiceLines.$inferSelect;
export type InvoiceRecord = InvoiceRow & { lines: LineRow[] };
export type InvoiceStatusName = InvoiceRow["status"];

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

const keyNames = sqlNames(idempotencyKeys);
const counterNames = sqlNames(invoiceCounters);
const invoiceNames = sqlNames(invoices);
const lineNames = sqlNames(invoiceLines);
const outboxNames = sqlNames(outbox);

/**
 * Claims the idempotency key and, only when it was free, bumps the tenant's counter: one row
 * (the number and the transaction's now(), which is every row's created_at) or none (key taken).
 * The key insert blocks while a concurrent transaction holds the same key.
 */
export const claimNumberSql = (() => {
  const k = keyNames;
  const c = counterNames;
  return `with claimed as (
  insert into ${k.$table} (${k.tenantId}, ${k.key}, ${k.requestHash}, ${k.invoiceId})
  values ($1::uuid, $2, $3, $4::uuid)
  on conflict do nothing
  returning 1)
insert into ${c.$table} as c (${c.tenantId}, ${c.lastNumber})
select $1::uuid, 1 from claimed
on conflict (${c.tenantId}) do update set ${c.lastNumber} = c.${c.lastNumber} + 1
returning c.${c.lastNumber} as number, now() as created_at`;
})();

/** Inserts the invoice, its lines (from parallel arrays), the outbox row, and queues the NOTIFY: one statement. */
export const insertIssuedSql = (() => {
  const i = invoiceNames;
  const l = lineNames;
  const o = outboxNames;
  return `with invoice as (
  insert into ${i.$table} (${i.id}, ${i.tenantId}, ${i.number}, ${i.status}, ${i.documentStatus}, ${i.currencyCode},
    ${i.seller}, ${i.buyer}, ${i.vatBreakdown}, ${i.subtotalMinor}, ${i.vatTotalMinor}, ${i.totalMinor},
    ${i.issueDate}, ${i.supplyDate}, ${i.dueDate}, ${i.note})
  values ($1::uuid, $2::uuid, $3::int8, $4, $5, $6, $7::jsonb, $8::jsonb, $9::jsonb, $10::int8, $11::int8, $12::int8,
    $13::date, $14::date, $15::date, $16)),
lines as (
  insert into ${l.$table} (${l.invoiceId}, ${l.position}, ${l.description}, ${l.quantity}, ${l.unitPriceMinor}, ${l.vatRateBp}, ${l.netMinor})
  select $1::uuid, n - 1, d, q, u, r, t
  from unnest($17::text[], $18::int8[], $19::int8[], $20::int4[], $21::int8[]) with ordinality as line(d, q, u, r, t, n)),
event as (
  insert into ${o.$table} (${o.id}, ${o.tenantId}, ${o.invoiceId}, ${o.eventType}, ${o.payload}, ${o.traceparent})
  values ($22::uuid, $2::uuid, $1::uuid, $23, $24::bytea, $25))
select pg_notify($26, $27)`;
})();

/**
 * Issues an invoice in one transaction: claims the idempotency key, takes the tenant's next
 * number from its counter row, inserts the invoice, its lines and the outbox event.
 * `beforeCommit` runs last and may throw to roll everything back (an expired deadline).
 * Two prepared statements (BEGIN, claim and number, the inserts and NOTIFY, COMMIT): the record
 * is built here from the draft, the number and the transaction time, as a read-back would give it.
 */
export async function issueInvoice(
  db: Db,
  draft: NewInvoice,
  eventFor: (invoice: InvoiceRecord) => OutboxEvent,
  beforeCommit: () => void,
): Promise<IssueResult> {
  const issued = await postgresClientOf(db).begin(async (tx) => {
    const [claimed] = await tx.unsafe<{ number: string; created_at: string }[]>(
      claimNumberSql,
      [draft.tenantId, draft.idempotencyKey, draft.requestHash, draft.id],
      { prepare: true },
    );
    if (!claimed) return undefined;
    // created_at as drizzle reads it back (postgres.js hands timestamps over as text under drizzle).
    const invoice = issuedRecord(draft, BigInt(claimed.number), invoices.createdAt.mapFromDriverValue(claimed.created_at) as Date);
    const event = eventFor(invoice);
    const { lines } = invoice;
    await tx.unsafe(
      insertIssuedSql,
      [
        invoice.id,
        invoice.tenantId,
        invoice.number.toString(),
        invoice.status,
        invoice.documentStatus,
        invoice.currencyCode,
        JSON.stringify(invoice.seller),
        JSON.stringify(invoice.buyer),
        JSON.stringify(invoice.vatBreakdown),
        invoice.subtotalMinor.toString(),
        invoice.vatTotalMinor.toString(),
        invoice.totalMinor.toString(),
        invoice.issueDate,
        invoice.supplyDate,
        invoice.dueDate,
        invoice.note,
        lines.map((l) => l.description),
        lines.map((l) => l.quantity.toString()),
        lines.map((l) => l.unitPriceMinor.toString()),
        lines.map((l) => l.vatRateBp),
        lines.map((l) => l.netMinor.toString()),
        event.id,
        event.eventType,
        event.payload,
        newTraceparent(),
        outboxChannel,
        `${invoice.tenantId}/${event.id}`,
      ],
      { prepare: true },
    );
    beforeCommit();
    return invoice;
  });
  // The key's transaction has committed (the claim waited for it): read what it stored.
  return issued ? { kind: "issued", invoice: issued } : replay(db, draft);
}

/** The invoice as issueInvoice stores it: what reading the rows back would return. */
function issuedRecord(draft: NewInvoice, number: bigint, createdAt: Date): InvoiceRecord {
  const { pricing } = draft;
  return {
    id: draft.id,
    tenantId: draft.tenantId,
    number,
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
    createdAt,
    paidAt: null,
    voidedAt: null,
    voidReason: "",
    lines: draft.lines.map((line, position) => ({
      invoiceId: draft.id,
      position,
      description: line.description,
      quantity: line.quantity,
      unitPriceMinor: line.unitPriceMinor,
      vatRateBp: line.vatRateBp,
      netMinor: pricing.netMinor[position]!,
    })),
  };
}

async function replay(db: Db, draft: NewInvoice): Promise<IssueResult> {
  const [first] = await db
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.tenantId, draft.tenantId), eq(idempotencyKeys.key, draft.idempotencyKey)));
  if (!first || first.requestHash !== draft.requestHash) return { kind: "key-reused" };
  const invoice = await findInvoice(db, draft.tenantId, first.invoiceId);
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
  | { kind: "already"; invoice: InvoiceRecord }
  | { kind: "not-found" }
  | { kind: "wrong-status"; status: InvoiceStatusName };

/**
 * Moves an ISSUED invoice to PAID or VOID with its outbox event, in one transaction. The same
 * change again (a retry after a lost answer: PAID again, or VOID with the same reason) changes
 * nothing and answers "already".
 */
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
    if (updated.length === 0) {
      const repeated = invoice.status === to && (to === "PAID" || invoice.voidReason === voidReason);
      return repeated ? { kind: "already", invoice } : { kind: "wrong-status", status: invoice.status };
    }
    await writeOutbox(tx, tenantId, id, eventFor(invoice));
    beforeCommit();
    return { kind: "changed", invoice };
  });
}
