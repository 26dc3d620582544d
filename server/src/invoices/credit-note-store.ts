// Issuing a credit note (BT-3 381): the credited invoice is locked, so concurrent credit notes of one
// invoice take turns and together never credit more than its total.
import type { TransactionSql } from "postgres";
import { STALLED_TRANSACTION_MS, type Db } from "../db/client.ts";
import { fromDriver, postgresClientOf, rowReader, sqlNames } from "../db/raw-sql.ts";
import { invoiceLines, invoices } from "../db/schema.ts";
import { outboxRow, writeOutbox, type OutboxEvent } from "../outbox/outbox-writer.ts";
import {
  boundTransactionSql,
  claimNumberParams,
  claimNumberSql,
  insertIssuedParams,
  insertIssuedSql,
  issuedRecord,
  replay,
  type InvoiceRecord,
  type InvoiceStatusName,
  type IssueResult,
  type NewInvoice,
} from "./invoice-store.ts";

/** A credit note as the request gives it: a new invoice whose preceding invoice is set. */
export type NewCreditNote = NewInvoice & { precedingInvoiceId: string };

export type CreditResult =
  | IssueResult
  | { kind: "not-found" }
  | { kind: "not-creditable"; status: InvoiceStatusName; documentType: InvoiceRecord["documentType"] }
  | { kind: "over-credit"; remainingMinor: bigint };

type Refusal = Extract<CreditResult, { kind: "not-creditable" | "over-credit" }>;

/** Thrown inside the transaction to roll back the claimed key and number; answered as its refusal. */
class CreditRefused extends Error {
  readonly refusal: Refusal;
  constructor(refusal: Refusal) {
    super(refusal.kind);
    this.refusal = refusal;
  }
}

const i = sqlNames(invoices);
const lockInvoiceSql = `select ${i.status} as status, ${i.documentType} as document_type, ${i.totalMinor} as total_minor,
  ${i.creditedMinor} as credited_minor
from ${i.$table} where ${i.tenantId} = $1::uuid and ${i.id} = $2::uuid for update`;
const addCreditSql = `update ${i.$table} set ${i.creditedMinor} = ${i.creditedMinor} + $3::bigint,
  ${i.creditNoteIds} = array_append(${i.creditNoteIds}, $4::uuid)
where ${i.tenantId} = $1::uuid and ${i.id} = $2::uuid
returning *`;
const l = sqlNames(invoiceLines);
const linesSql = `select * from ${l.$table} where ${l.invoiceId} = $1::uuid order by ${l.position}`;
const readInvoiceRow = rowReader(invoices);
const readLineRow = rowReader(invoiceLines);

interface LockedInvoice {
  status: InvoiceStatusName;
  document_type: InvoiceRecord["documentType"];
  total_minor: string;
  credited_minor: string;
}

/** Why the locked invoice cannot take a credit of `creditMinor`, or undefined when it can. */
function refusalOf(invoice: LockedInvoice, creditMinor: bigint): Refusal | undefined {
  if (invoice.status === "VOID" || invoice.document_type === "CREDIT_NOTE") {
    return { kind: "not-creditable", status: invoice.status, documentType: invoice.document_type };
  }
  const remainingMinor = BigInt(invoice.total_minor) - BigInt(invoice.credited_minor);
  return creditMinor > remainingMinor ? { kind: "over-credit", remainingMinor } : undefined;
}

/** The outbox events of a credit note: its own (issued), and its invoice's (credited). */
export interface CreditNoteEvents {
  issued: (creditNote: InvoiceRecord) => OutboxEvent;
  credited: (invoice: InvoiceRecord, creditNoteId: string) => OutboxEvent;
}

/** Adds the credit note's total to its invoice's credited amount; answers the invoice as it now is, with its lines. */
async function creditInvoice(tx: TransactionSql, note: InvoiceRecord): Promise<InvoiceRecord> {
  const [[row], lines] = await Promise.all([
    tx.unsafe<Record<string, unknown>[]>(addCreditSql, [note.tenantId, note.precedingInvoiceId, note.totalMinor.toString(), note.id], {
      prepare: true,
    }),
    tx.unsafe<Record<string, unknown>[]>(linesSql, [note.precedingInvoiceId], { prepare: true }),
  ]);
  return { ...readInvoiceRow(row!), lines: lines.map(readLineRow) };
}

/**
 * Issues a credit note in one transaction: locks the credited invoice (FOR UPDATE), claims the
 * idempotency key and the tenant's next number (the invoices' series), refuses a void invoice, a
 * credit note or more than the invoice's remaining amount, inserts the credit note, its lines and its
 * outbox event, adds its total to the invoice's credited amount and writes the invoice's event.
 */
export async function issueCreditNote(
  db: Db,
  draft: NewCreditNote,
  events: CreditNoteEvents,
  beforeCommit: () => void,
): Promise<CreditResult> {
  try {
    const issued = await postgresClientOf(db).begin(async (tx) => {
      const [, [locked]] = await Promise.all([
        tx.unsafe(boundTransactionSql, [`${STALLED_TRANSACTION_MS}ms`], { prepare: true }),
        tx.unsafe<LockedInvoice[]>(lockInvoiceSql, [draft.tenantId, draft.precedingInvoiceId], { prepare: true }),
      ]);
      if (!locked) return "not-found" as const;
      const [claimed] = await tx.unsafe<{ number: string; created_at: string }[]>(claimNumberSql, claimNumberParams(draft), {
        prepare: true,
      });
      if (!claimed) return undefined;
      const refusal = refusalOf(locked, draft.pricing.totalMinor);
      if (refusal) throw new CreditRefused(refusal);
      const note = issuedRecord(draft, fromDriver(invoices.number, claimed.number), fromDriver(invoices.createdAt, claimed.created_at));
      await tx.unsafe(insertIssuedSql, insertIssuedParams(note, outboxRow(note.tenantId, note.id, events.issued(note))), { prepare: true });
      const credited = await creditInvoice(tx, note);
      await writeOutbox(tx, note.tenantId, credited.id, events.credited(credited, note.id));
      beforeCommit();
      return note;
    });
    if (issued === "not-found") return { kind: "not-found" };
    return issued ? { kind: "issued", invoice: issued } : await replay(db, draft);
  } catch (err) {
    if (err instanceof CreditRefused) return err.refusal;
    throw err;
  }
}
