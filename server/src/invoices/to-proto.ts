import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { DocumentStatus, DocumentType, InvoiceSchema, InvoiceStatus, type Invoice } from "@invoicer/sdk";
import type { PartyRecord, VatBreakdownRecord } from "../db/schema.ts";
import { defaultVatCategory, vatCategoryToProto } from "@invoicer/platform/vat-categories";
import type { InvoiceRecord, InvoiceStatusName, LineRow } from "./invoice-store.ts";

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
    documentType: record.documentType === "CREDIT_NOTE" ? DocumentType.CREDIT_NOTE : DocumentType.INVOICE,
    currencyCode: record.currencyCode,
    seller: party(record.seller),
    buyer: party(record.buyer),
    lines: record.lines.map(line),
    vatBreakdown: record.vatBreakdown.map(vatBreakdownToProto),
    subtotalMinor: record.subtotalMinor,
    vatTotalMinor: record.vatTotalMinor,
    totalMinor: record.totalMinor,
    issueDate: record.issueDate,
    supplyDate: record.supplyDate,
    dueDate: record.dueDate,
    note: record.note,
    buyerReference: record.buyerReference,
    orderReference: record.orderReference,
    payment: record.payment ?? undefined,
    deliveryAddress: record.deliveryAddress ?? undefined,
    createTime: timestampFromDate(record.createdAt),
    payTime: record.paidAt ? timestampFromDate(record.paidAt) : undefined,
    voidTime: record.voidedAt ? timestampFromDate(record.voidedAt) : undefined,
    voidReason: record.voidReason,
    precedingInvoice: record.precedingInvoiceId
      ? { id: record.precedingInvoiceId, number: record.precedingInvoiceNumber ?? 0n, issueDate: record.precedingIssueDate ?? "" }
      : undefined,
    creditedMinor: record.creditedMinor,
    creditNoteIds: record.creditNoteIds,
  });
}

function line(l: LineRow) {
  return {
    description: l.description,
    quantity: l.quantity,
    quantityDecimal: l.quantityDecimal,
    unitCode: l.unitCode,
    unitPriceMinor: l.unitPriceMinor,
    vatRateBp: l.vatRateBp,
    vatCategory: vatCategoryToProto(l.vatCategory),
    vatExemptionReason: l.vatExemptionReason,
    vatExemptionReasonCode: l.vatExemptionReasonCode,
    netMinor: l.netMinor,
  };
}

/** BG-23 as stored (amounts as decimal strings) or as priced; breakdowns stored before categories get the default. */
export function vatBreakdownToProto(
  b: Omit<VatBreakdownRecord, "taxableMinor" | "vatMinor"> & { taxableMinor: string | bigint; vatMinor: string | bigint },
) {
  return {
    vatCategory: vatCategoryToProto(b.vatCategory ?? defaultVatCategory(b.vatRateBp)),
    vatRateBp: b.vatRateBp,
    taxableMinor: BigInt(b.taxableMinor),
    vatMinor: BigInt(b.vatMinor),
    vatExemptionReason: b.vatExemptionReason ?? "",
    vatExemptionReasonCode: b.vatExemptionReasonCode ?? "",
  };
}

function party(p: PartyRecord) {
  return {
    name: p.name,
    vatId: p.vatId,
    address: p.address,
    electronicAddress: p.electronicAddress,
    contact: p.contact,
    legalRegistrationId: p.legalRegistrationId ?? "",
  };
}
