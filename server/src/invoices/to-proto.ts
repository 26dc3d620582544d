import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { DocumentStatus, InvoiceSchema, InvoiceStatus, type Invoice } from "@invoicer/sdk";
import type { PartyRecord } from "../db/schema.ts";
import type { InvoiceRecord, InvoiceStatusName } from "./invoice-store.ts";

export const statusToProto: Record<InvoiceStatusName, InvoiceStatus> = {
  ISSUED: InvoiceStatus.ISSUED,
  PAID: InvoiceStatus.PAID,
  VOID: InvoiceStatus.VOID,
};

export const statusFromProto: Partial<Record<InvoiceStatus, InvoiceStatusName>> = {
  [InvoiceStatus.ISSUED]: "ISSUED",
  [InvoiceStatus.PAID]: "PAID",
  [InvoiceStatus.VOID]: "VOID",
};

/** The API's view of a stored invoice. */
export function toInvoice(record: InvoiceRecord): Invoice {
  return create(InvoiceSchema, {
    id: record.id,
    number: record.number,
    status: statusToProto[record.status],
    documentStatus: record.documentStatus === "READY" ? DocumentStatus.READY : DocumentStatus.PENDING,
    currencyCode: record.currencyCode,
    seller: party(record.seller),
    buyer: party(record.buyer),
    lines: record.lines.map((line) => ({
      description: line.description,
      quantity: line.quantity,
      unitPriceMinor: line.unitPriceMinor,
      vatRateBp: line.vatRateBp,
      netMinor: line.netMinor,
    })),
    vatBreakdown: record.vatBreakdown.map((b) => ({
      vatRateBp: b.vatRateBp,
      taxableMinor: BigInt(b.taxableMinor),
      vatMinor: BigInt(b.vatMinor),
    })),
    subtotalMinor: record.subtotalMinor,
    vatTotalMinor: record.vatTotalMinor,
    totalMinor: record.totalMinor,
    issueDate: record.issueDate,
    supplyDate: record.supplyDate,
    dueDate: record.dueDate,
    note: record.note,
    createTime: timestampFromDate(record.createdAt),
    payTime: record.paidAt ? timestampFromDate(record.paidAt) : undefined,
    voidTime: record.voidedAt ? timestampFromDate(record.voidedAt) : undefined,
    voidReason: record.voidReason,
  });
}

function party(p: PartyRecord) {
  return { name: p.name, vatId: p.vatId, address: p.address };
}
