import { and, asc, desc, eq, getTableColumns, inArray, lt, sql } from "drizzle-orm";
import { STALLED_TRANSACTION_MS, type Db, type Tx } from "../db/client.ts";
import { columnsExcept, fromDriver, insertRow, insertRows, postgresClientOf, postgresTransactionOf, sqlNames } from "../db/raw-sql.ts";
import { idempotencyKeys, invoiceCounters, invoiceLines, invoices, type VatBreakdownRecord } from "../db/schema.ts";
import type { Pricing } from "../domain/pricing.ts";
import { eventStatement, outboxRow, writeOutbox, type OutboxEvent, type OutboxRow } from "../outbox/outbox-writer.ts";

export type InvoiceRow = typeof invoices.$inferSelect;
export type LineRow = typeof invoiceLines.$inferSelect;
export type InvoiceRecord = InvoiceRow & { lines: LineRow[] };
export type InvoiceStatusName = InvoiceRow["status"];

/** The columns issuing sets itself: the number, the states, the amounts (from pricing) and the timestamps. */
type AssignedOnIssue =
  | "number"
  | "status"
  | "documentStatus"
  | "vatBreakdown"
  | "subtotalMinor"
  | "vatTotalMinor"
  | "totalMinor"
  | "createdAt"
  | "paidAt"
  | "voidedAt"
  | "voidReason"
  | "creditedMinor"
  | "creditNoteIds";

/**
 * A new invoice as the request gives it: every column of schema.ts's `invoices` but those issuing
 * sets (a column added there is required here at once), its lines, and what the idempotency key stores.
 */
export type NewInvoice = Omit<InvoiceRow, AssignedOnIssue> & {
  idempotencyKey: string;
  requestHash: string;
  lines: Omit<LineRow, "invoiceId" | "position" | "netMinor">[];
  pricing: Pricing;
};

export type IssueResult =
  { kind: "issued"; invoice: InvoiceRecord } | { kind: "replayed"; invoice: InvoiceRecord } | { kind: "key-reused" };

// The statements' parameters: each column named once, typed and converted by schema.ts, numbered in list order.
const keyInsert = insertRow(idempotencyKeys, ["tenantId", "key", "requestHash", "invoiceId"], 1);
/**
 * Every column of the invoice but those left to their defaults: created_at (the transaction's now(),
 * as the claim returns it) and what paying, voiding or crediting sets (issuedRecord gives them their defaults too).
 */
const invoiceInsert = insertRow(
  invoices,
  columnsExcept(invoices, ["createdAt", "paidAt", "voidedAt", "voidReason", "creditedMinor", "creditNoteIds"]),
  1,
);
/** Every column of a line but its invoice (the inserted one) and its position (its place in the arrays). */
const linesInsert = insertRows(invoiceLines, columnsExcept(invoiceLines, ["invoiceId", "position"]), invoiceInsert.next);
const l = sqlNames(invoiceLines);
const lineValues = Array.from({ length: linesInsert.next - invoiceInsert.next }, (_, i) => `v${i}`).join(", ");
const eventWrite = eventStatement(linesInsert.next);
const k = sqlNames(idempotencyKeys);
const c = sqlNames(invoiceCounters);

/**
 * Claims the idempotency key and, only when it was free, bumps the tenant's counter: one row
 * (the number and the transaction's now(), which is every row's created_at) or none (key taken).
 * The key insert blocks while a concurrent transaction holds the same key.
 */
/** PostgreSQL 17's transaction_timeout, for this transaction only: it ends the session of one that runs past it. */
export const boundTransactionSql = "select set_config('transaction_timeout', $1, true)";

export const claimNumberSql = `with claimed as (
  insert into ${k.$table} (${keyInsert.columns})
  values (${keyInsert.placeholders})
  on conflict do nothing
  returning ${k.tenantId})
insert into ${c.$table} as c (${c.tenantId}, ${c.lastNumber})
select ${k.tenantId}, 1 from claimed
on conflict (${c.tenantId}) do update set ${c.lastNumber} = c.${c.lastNumber} + 1
returning c.${c.lastNumber} as number, now() as created_at`;

/** claimNumberSql's parameters. */
export const claimNumberParams = (draft: NewInvoice) =>
  keyInsert.params({ tenantId: draft.tenantId, key: draft.idempotencyKey, requestHash: draft.requestHash, invoiceId: draft.id });

/** Inserts the invoice, its lines (from one array per column), the outbox row, and queues the NOTIFY: one statement. */
export const insertIssuedSql = `with invoice as (
  insert into ${sqlNames(invoices).$table} (${invoiceInsert.columns})
  values (${invoiceInsert.placeholders})
  returning ${sqlNames(invoices).id} as id),
lines as (
  insert into ${l.$table} (${l.invoiceId}, ${l.position}, ${linesInsert.columns})
  select invoice.id, n - 1, ${lineValues} from invoice, unnest(${linesInsert.placeholders}) with ordinality as line(${lineValues}, n)),
${eventWrite.cte}
select ${eventWrite.notify}`;

/** insertIssuedSql's parameters: the invoice record as stored, and its event's outbox row. */
export const insertIssuedParams = (invoice: InvoiceRecord, event: OutboxRow) => [
  ...invoiceInsert.params(invoice),
  ...linesInsert.params(invoice.lines),
  ...eventWrite.params(event),
];

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
    // Bounded before the claim may wait for the counter's lock; sent with it, in one round trip.
    const [, [claimed]] = await Promise.all([
      tx.unsafe(boundTransactionSql, [`${STALLED_TRANSACTION_MS}ms`], { prepare: true }),
      tx.unsafe<{ number: string; created_at: string }[]>(claimNumberSql, claimNumberParams(draft), { prepare: true }),
    ]);
    if (!claimed) return undefined;
    // Number and created_at as drizzle reads them back (postgres.js hands timestamps over as text under drizzle).
    const invoice = issuedRecord(draft, fromDriver(invoices.number, claimed.number), fromDriver(invoices.createdAt, claimed.created_at));
    const event = outboxRow(invoice.tenantId, invoice.id, eventFor(invoice));
    await tx.unsafe(insertIssuedSql, insertIssuedParams(invoice, event), { prepare: true });
    beforeCommit();
    return invoice;
  });
  // The key's transaction has committed (the claim waited for it): read what it stored.
  return issued ? { kind: "issued", invoice: issued } : replay(db, draft);
}

/** The invoice as issueInvoice stores it: what reading the rows back would return. */
export function issuedRecord(draft: NewInvoice, number: bigint, createdAt: Date): InvoiceRecord {
  const { idempotencyKey: _key, requestHash: _hash, lines, pricing, ...fields } = draft;
  // The draft's fields spread last: V8 copies them onto the literal's shape fast (spread first, it takes ~20x longer).
  return {
    number,
    status: "ISSUED",
    documentStatus: "PENDING",
    vatBreakdown: vatBreakdownRecords(pricing, lines),
    subtotalMinor: pricing.subtotalMinor,
    vatTotalMinor: pricing.vatTotalMinor,
    totalMinor: pricing.totalMinor,
    createdAt,
    paidAt: null,
    voidedAt: null,
    voidReason: "",
    creditedMinor: 0n,
    creditNoteIds: [],
    lines: lines.map((line, position) => ({ invoiceId: draft.id, position, netMinor: pricing.netMinor[position]!, ...line })),
    ...fields,
    payment: fields.payment && { ...fields.payment, remittance: fields.payment.remittance || number.toString() },
  };
}

/** BG-23 as stored: each category and rate with the exemption reason (BT-120/121) of its first line. */
function vatBreakdownRecords(pricing: Pricing, lines: NewInvoice["lines"]): VatBreakdownRecord[] {
  return pricing.vatBreakdown.map((b) => {
    const first = lines.find((l) => l.vatCategory === b.vatCategory && l.vatRateBp === b.vatRateBp);
    return {
      vatCategory: b.vatCategory,
      vatRateBp: b.vatRateBp,
      taxableMinor: b.taxableMinor.toString(),
      vatMinor: b.vatMinor.toString(),
      vatExemptionReason: first?.vatExemptionReason ?? "",
      vatExemptionReasonCode: first?.vatExemptionReasonCode ?? "",
    };
  });
}

/** What the idempotency key of `draft` holds once its transaction committed: the same request's invoice, or a reused key. */
export async function replay(db: Db, draft: NewInvoice): Promise<IssueResult> {
  const [first] = await db
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.tenantId, draft.tenantId), eq(idempotencyKeys.key, draft.idempotencyKey)));
  if (!first || first.requestHash !== draft.requestHash) return { kind: "key-reused" };
  const invoice = await findInvoice(db, draft.tenantId, first.invoiceId);
  return invoice ? { kind: "replayed", invoice } : { kind: "key-reused" };
}

/** An invoice and its lines by id, within the tenant: the statements GetInvoice runs, with placeholders. */
const invoiceById = (db: Db | Tx) => ({
  invoice: db
    .select()
    .from(invoices)
    .where(and(eq(invoices.tenantId, sql.placeholder("tenantId")), eq(invoices.id, sql.placeholder("id")))),
  lines: db
    .select()
    .from(invoiceLines)
    .where(eq(invoiceLines.invoiceId, sql.placeholder("id")))
    .orderBy(asc(invoiceLines.position)),
});

type InvoiceByIdStatements = { [K in keyof ReturnType<typeof invoiceById>]: Pick<ReturnType<typeof invoiceById>[K], "execute"> };

async function readInvoice(statements: InvoiceByIdStatements, tenantId: string, id: string): Promise<InvoiceRecord | undefined> {
  const [row] = await statements.invoice.execute({ tenantId, id });
  if (!row) return undefined;
  return { ...row, lines: await statements.lines.execute({ id }) };
}

/** The tenant's invoice with its lines, or undefined (another tenant's is not found); in a transaction or not, built per call (see invoiceReader). */
export const findInvoice = (db: Db | Tx, tenantId: string, id: string) => readInvoice(invoiceById(db), tenantId, id);

/**
 * findInvoice with its statements built once (Drizzle's prepared queries): rebuilding them took about
 * a sixth of the server's CPU per GetInvoice.
 */
export function invoiceReader(db: Db): (tenantId: string, id: string) => Promise<InvoiceRecord | undefined> {
  let prepared: InvoiceByIdStatements | undefined;
  const prepare = (statements = invoiceById(db)) => ({
    invoice: statements.invoice.prepare("find_invoice"),
    lines: statements.lines.prepare("find_invoice_lines"),
  });
  // Prepared on the first read, so building the service touches no database.
  return (tenantId, id) => readInvoice((prepared ??= prepare()), tenantId, id);
}

/**
 * One page of the tenant's invoices, newest number first, starting below `beforeNumber`: at most
 * `limit` invoices and, but for its first invoice, at most `maxLines` lines in all; `more` says
 * whether invoices are left after it.
 */
export async function listInvoices(
  db: Db,
  tenantId: string,
  page: { limit: number; maxLines: number; beforeNumber?: bigint; status?: InvoiceStatusName },
): Promise<{ invoices: InvoiceRecord[]; more: boolean }> {
  const rows = await db
    .select({
      ...getTableColumns(invoices),
      lineCount: sql<number>`(select count(*)::int from ${invoiceLines} where ${invoiceLines.invoiceId} = ${invoices.id})`,
    })
    .from(invoices)
    .where(
      and(
        eq(invoices.tenantId, tenantId),
        page.status ? eq(invoices.status, page.status) : undefined,
        page.beforeNumber !== undefined ? lt(invoices.number, page.beforeNumber) : undefined,
      ),
    )
    .orderBy(desc(invoices.number))
    .limit(page.limit + 1);
  const kept = withinLines(rows.slice(0, page.limit), page.maxLines);
  if (kept.length === 0) return { invoices: [], more: false };
  const lines = await db
    .select()
    .from(invoiceLines)
    .where(
      inArray(
        invoiceLines.invoiceId,
        kept.map((r) => r.id),
      ),
    )
    .orderBy(asc(invoiceLines.position));
  const linesOf = new Map(kept.map((r) => [r.id, [] as typeof lines]));
  for (const line of lines) linesOf.get(line.invoiceId)!.push(line);
  return {
    invoices: kept.map(({ lineCount: _, ...row }) => ({ ...row, lines: linesOf.get(row.id)! })),
    more: rows.length > kept.length,
  };
}

/** The first rows whose lines add up to at most `maxLines` (the first row always). */
function withinLines<T extends { lineCount: number }>(rows: T[], maxLines: number): T[] {
  let total = 0;
  const kept = rows.findIndex((row, i) => (total += row.lineCount) > maxLines && i > 0);
  return kept === -1 ? rows : rows.slice(0, kept);
}

export type TransitionResult =
  | { kind: "changed"; invoice: InvoiceRecord }
  | { kind: "already"; invoice: InvoiceRecord }
  | { kind: "not-found" }
  | { kind: "wrong-status"; status: InvoiceStatusName }
  | { kind: "credited" };

/** Only an invoice without credit notes, and no credit note, may be voided: both are corrections in the buyer's books. */
const voidable = and(eq(invoices.documentType, "INVOICE"), eq(invoices.creditedMinor, 0n));

/**
 * Moves an ISSUED invoice to PAID or VOID with its outbox event, in one transaction. The same
 * change again (a retry after a lost answer: PAID again, or VOID with the same reason) changes
 * nothing and answers "already". Voiding a credit note or a credited invoice answers "credited".
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
      .where(and(eq(invoices.tenantId, tenantId), eq(invoices.id, id), eq(invoices.status, "ISSUED"), to === "VOID" ? voidable : undefined))
      .returning({ id: invoices.id });
    const invoice = await findInvoice(tx, tenantId, id);
    if (!invoice) return { kind: "not-found" };
    if (updated.length === 0) {
      const repeated = invoice.status === to && (to === "PAID" || invoice.voidReason === voidReason);
      if (repeated) return { kind: "already", invoice };
      return invoice.status === "ISSUED" ? { kind: "credited" } : { kind: "wrong-status", status: invoice.status };
    }
    await writeOutbox(postgresTransactionOf(tx), tenantId, id, eventFor(invoice));
    beforeCommit();
    return { kind: "changed", invoice };
  });
}
