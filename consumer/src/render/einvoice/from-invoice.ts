import { defaultVatCategory, vatCategoryCode } from "@invoicer/platform/vat-categories";
import {
  DocumentType,
  VatCategory as ProtoVatCategory,
  type Address,
  type Invoice,
  type InvoiceLine,
  type Party as ProtoParty,
  type VatBreakdown as ProtoVatBreakdown,
} from "@invoicer/sdk";
import { totalsOf } from "./amounts.ts";
import type { Delivery, EInvoice, Line, Party, PostalAddress, PrecedingInvoice, VatBreakdown, VatCategory } from "./model.ts";

/** What EN 16931 needs that the proto `Invoice` does not carry yet. */
export interface EInvoiceExtras {
  /** BT-70 deliver-to party name. */
  deliveryPartyName?: string;
}

/** Empty proto strings mean "absent": EN 16931 syntaxes forbid empty elements. */
const present = (s: string | undefined) => (s ? s : undefined);

/** BT-151/BT-118; unspecified (an event from before categories) means S above 0 % and Z at 0 %, as the server reads it. */
const categoryOf = (category: ProtoVatCategory, rateBp: number): VatCategory =>
  vatCategoryCode(category, rateBp) ?? defaultVatCategory(rateBp);

function addressOf(a: Address | undefined): PostalAddress {
  return { street: present(a?.street), city: present(a?.city), postalCode: present(a?.postalCode), countryCode: a?.countryCode ?? "" };
}

function partyOf(p: ProtoParty | undefined): Party {
  const e = p?.electronicAddress;
  const c = p?.contact;
  return {
    name: p?.name ?? "",
    legalRegistrationId: present(p?.legalRegistrationId),
    vatId: present(p?.vatId),
    electronicAddress: e?.id ? { scheme: e.scheme, id: e.id } : undefined,
    address: addressOf(p?.address),
    contact: c && (c.name || c.phone || c.email) ? { name: present(c.name), phone: present(c.phone), email: present(c.email) } : undefined,
  };
}

function lineOf(l: InvoiceLine, index: number): Line {
  return {
    id: String(index + 1),
    quantity: l.quantityDecimal || l.quantity.toString(),
    unitCode: l.unitCode || "C62",
    netMinor: l.netMinor,
    priceMinor: l.unitPriceMinor,
    vatCategory: categoryOf(l.vatCategory, l.vatRateBp),
    vatRateBp: l.vatRateBp,
    itemName: l.description,
    exemptionReason: present(l.vatExemptionReason),
    exemptionReasonCode: present(l.vatExemptionReasonCode),
  };
}

/** BG-23 as the server keyed it (category and rate), ordered by category then rate as the writers list it. */
function vatBreakdownOf(breakdown: ProtoVatBreakdown[]): VatBreakdown[] {
  return breakdown
    .map((b) => ({
      category: categoryOf(b.vatCategory, b.vatRateBp),
      rateBp: b.vatRateBp,
      taxableMinor: b.taxableMinor,
      vatMinor: b.vatMinor,
      exemptionReason: present(b.vatExemptionReason),
      exemptionReasonCode: present(b.vatExemptionReasonCode),
    }))
    .sort((a, b) => a.category.localeCompare(b.category) || a.rateBp - b.rateBp);
}

/** BG-13: the supply date (BT-72) and the deliver-to address (BG-15; the server gives an intra-community supply the buyer's). */
function deliveryOf(inv: Invoice, extras: EInvoiceExtras): Delivery | undefined {
  const delivery = {
    partyName: extras.deliveryPartyName,
    date: present(inv.supplyDate),
    address: inv.deliveryAddress && addressOf(inv.deliveryAddress),
  };
  return delivery.partyName || delivery.date || delivery.address ? delivery : undefined;
}

/** BG-3 of a credit note: the credited invoice's number (BT-25) and issue date (BT-26). */
function precedingOf(inv: Invoice): PrecedingInvoice | undefined {
  const p = inv.precedingInvoice;
  return p ? { number: p.number.toString(), issueDate: present(p.issueDate) } : undefined;
}

/** Maps an issued proto `Invoice` (a credit note when its document_type says so) to the EN 16931 model. */
export function eInvoiceOf(inv: Invoice, extras: EInvoiceExtras = {}): EInvoice {
  const lines = inv.lines.map(lineOf);
  const vatBreakdown = vatBreakdownOf(inv.vatBreakdown);
  const number = inv.number.toString();
  const p = inv.payment;
  return {
    number,
    issueDate: inv.issueDate,
    typeCode: inv.documentType === DocumentType.CREDIT_NOTE ? "381" : "380",
    currency: inv.currencyCode,
    dueDate: present(inv.dueDate),
    buyerReference: present(inv.buyerReference),
    orderReference: present(inv.orderReference),
    paymentTerms: present(p?.terms),
    note: present(inv.note),
    precedingInvoice: precedingOf(inv),
    seller: partyOf(inv.seller),
    buyer: partyOf(inv.buyer),
    delivery: deliveryOf(inv, extras),
    payment: p?.meansCode
      ? { meansCode: p.meansCode, remittance: p.remittance || number, iban: present(p.iban), bic: present(p.bic) }
      : undefined,
    totals: totalsOf(lines, vatBreakdown),
    vatBreakdown,
    lines,
  };
}
