import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { DocumentType, InvoiceStatus, type Invoice, type Party } from "@invoicer/sdk";
import { formatMoney } from "@invoicer/platform/money";
import { formatRate } from "./money.ts";

/** Every printable field of an invoice as plain strings, laid out identically by the PDF and DOCX renderers. */
export interface InvoiceText {
  title: string;
  details: Array<[label: string, value: string]>;
  seller: string[];
  buyer: string[];
  lineHeader: string[];
  lines: string[][];
  vatHeader: string[];
  vat: string[][];
  totals: Array<[label: string, value: string]>;
  note: string;
}

const statusLabels: Record<InvoiceStatus, string> = {
  [InvoiceStatus.UNSPECIFIED]: "Unspecified",
  [InvoiceStatus.ISSUED]: "Issued",
  [InvoiceStatus.PAID]: "Paid",
  [InvoiceStatus.VOID]: "Void",
};

const regionNames = new Intl.DisplayNames(["en"], { type: "region", fallback: "none" });
const country = (code: string) => (code ? `${regionNames.of(code) ?? code} (${code})` : "");
const time = (t: Timestamp | undefined) =>
  t
    ? timestampDate(t)
        .toISOString()
        .replace(/\.000Z$/, "Z")
    : "";

function party(p: Party | undefined): string[] {
  if (!p) return ["—"];
  const a = p.address;
  const cityLine = [a?.postalCode, a?.city].filter(Boolean).join(" ");
  return [p.name, a?.street, cityLine, country(a?.countryCode ?? ""), p.vatId && `VAT ID: ${p.vatId}`].filter((s): s is string => !!s);
}

/** The language of every document: its labels are English, so are its amounts. */
export const documentLanguage = "en-US";

export function invoiceText(inv: Invoice): InvoiceText {
  const money = (minor: bigint) => formatMoney(minor, inv.currencyCode, documentLanguage);
  const credit = inv.documentType === DocumentType.CREDIT_NOTE;
  const preceding = inv.precedingInvoice;
  const details: Array<[string, string]> = [
    [credit ? "Credit note number" : "Invoice number", inv.number.toString()],
    ["Credited invoice", preceding ? `No. ${preceding.number} of ${preceding.issueDate}` : ""],
    ["Status", statusLabels[inv.status] ?? String(inv.status)],
    ["Currency", inv.currencyCode],
    ["Issue date", inv.issueDate],
    ["Supply date", inv.supplyDate],
    ["Due date", inv.dueDate],
    ["Created", time(inv.createTime)],
    ["Paid", time(inv.payTime)],
    ["Voided", time(inv.voidTime)],
    ["Void reason", inv.voidReason],
    ["Credited so far", inv.creditedMinor > 0n ? money(inv.creditedMinor) : ""],
    ["Invoice ID", inv.id],
  ];
  return {
    title: `${credit ? "Credit Note" : "Invoice"} No. ${inv.number}`,
    details: details.filter(([, v]) => v !== ""),
    seller: party(inv.seller),
    buyer: party(inv.buyer),
    lineHeader: ["#", "Description", "Qty", "Unit price", "VAT", "Net"],
    lines: inv.lines.map((l, i) => [
      String(i + 1),
      l.description,
      l.quantityDecimal || l.quantity.toString(),
      money(l.unitPriceMinor),
      formatRate(l.vatRateBp),
      money(l.netMinor),
    ]),
    vatHeader: ["VAT rate", "Taxable", "VAT", "Gross"],
    vat: inv.vatBreakdown.map((v) => [
      formatRate(v.vatRateBp),
      money(v.taxableMinor),
      money(v.vatMinor),
      money(v.taxableMinor + v.vatMinor),
    ]),
    totals: [
      ["Net total", money(inv.subtotalMinor)],
      ["VAT total", money(inv.vatTotalMinor)],
      [credit ? "Total credited" : "Total due", money(inv.totalMinor)],
    ],
    note: inv.note,
  };
}
