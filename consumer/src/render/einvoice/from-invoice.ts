import type { Invoice, InvoiceLine, Party as ProtoParty } from "@invoicer/sdk";
import { lineNetMinor, totalsOf, vatBreakdownOf } from "./amounts.ts";
import type {
  Contact,
  Delivery,
  DocumentTypeCode,
  EInvoice,
  ElectronicAddress,
  Line,
  Party,
  Payment,
  PostalAddress,
  PrecedingInvoice,
  VatCategory,
} from "./model.ts";

/** What a party needs beyond today's proto `Party` (fields the proto gains later). */
export interface PartyExtras {
  electronicAddress?: ElectronicAddress;
  contact?: Contact;
  legalRegistrationId?: string;
}

/** What a line needs beyond today's proto `InvoiceLine`. */
export interface LineExtras {
  /** BT-130; C62 when absent. */
  unitCode?: string;
  /** BT-151; when absent S above 0 % and Z at 0 %, as today's invoices mean. */
  vatCategory?: VatCategory;
  /** BT-120. */
  exemptionReason?: string;
  /** BT-121. */
  exemptionReasonCode?: string;
  /** BT-129 as a decimal ("1.5"); replaces the whole-unit quantity, and the net is recomputed with it. */
  quantityDecimal?: string;
}

/** Everything EN 16931 needs that today's proto `Invoice` does not carry; each becomes a proto field later. */
export interface EInvoiceExtras {
  /** BT-3; 380 when absent. */
  typeCode?: DocumentTypeCode;
  /** BG-3, for a credit note. */
  precedingInvoice?: PrecedingInvoice;
  buyerReference?: string;
  orderReference?: string;
  paymentTerms?: string;
  seller?: PartyExtras;
  buyer?: PartyExtras;
  /** BT-70 and BG-15; BT-72 is the invoice's supply date. */
  delivery?: Omit<Delivery, "date">;
  /** BG-16; the remittance (BT-83) defaults to the invoice number. */
  payment?: Payment;
  /** By line index. */
  lines?: LineExtras[];
}

/** Empty proto strings mean "absent": EN 16931 syntaxes forbid empty elements. */
const present = (s: string | undefined) => (s ? s : undefined);

function addressOf(p: ProtoParty | undefined): PostalAddress {
  const a = p?.address;
  return {
    street: present(a?.street),
    city: present(a?.city),
    postalCode: present(a?.postalCode),
    countryCode: a?.countryCode ?? "",
  };
}

function partyOf(p: ProtoParty | undefined, extras: PartyExtras = {}): Party {
  return { name: p?.name ?? "", vatId: present(p?.vatId), address: addressOf(p), ...extras };
}

const defaultCategory = (rateBp: number): VatCategory => (rateBp > 0 ? "S" : "Z");

function lineOf(l: InvoiceLine, index: number, extras: LineExtras = {}): Line {
  const quantity = extras.quantityDecimal ?? l.quantity.toString();
  return {
    id: String(index + 1),
    quantity,
    unitCode: extras.unitCode ?? "C62",
    netMinor: extras.quantityDecimal ? lineNetMinor(quantity, l.unitPriceMinor) : l.netMinor,
    priceMinor: l.unitPriceMinor,
    vatCategory: extras.vatCategory ?? defaultCategory(l.vatRateBp),
    vatRateBp: l.vatRateBp,
    itemName: l.description,
    exemptionReason: extras.exemptionReason,
    exemptionReasonCode: extras.exemptionReasonCode,
  };
}

/** BG-13: the supply date (BT-72), and for an intra-community supply the buyer's address when none is given (BR-IC-12). */
function deliveryOf(inv: Invoice, lines: Line[], extras: EInvoiceExtras, buyer: Party): Delivery | undefined {
  const address = extras.delivery?.address ?? (lines.some((l) => l.vatCategory === "K") ? buyer.address : undefined);
  const delivery = { partyName: extras.delivery?.partyName, date: present(inv.supplyDate), address };
  return delivery.partyName || delivery.date || delivery.address ? delivery : undefined;
}

/**
 * Maps an issued proto `Invoice` (a credit note when `extras.typeCode` is 381) to the EN 16931 model.
 * The VAT breakdown and totals are recomputed by category and rate from the lines; without extras
 * they equal the invoice's own, which is keyed by rate alone.
 */
export function eInvoiceOf(inv: Invoice, extras: EInvoiceExtras = {}): EInvoice {
  const lines = inv.lines.map((l, i) => lineOf(l, i, extras.lines?.[i]));
  const vatBreakdown = vatBreakdownOf(lines);
  const seller = partyOf(inv.seller, extras.seller);
  const buyer = partyOf(inv.buyer, extras.buyer);
  const number = inv.number.toString();
  return {
    number,
    issueDate: inv.issueDate,
    typeCode: extras.typeCode ?? "380",
    currency: inv.currencyCode,
    dueDate: present(inv.dueDate),
    buyerReference: extras.buyerReference,
    orderReference: extras.orderReference,
    paymentTerms: extras.paymentTerms,
    note: present(inv.note),
    precedingInvoice: extras.precedingInvoice,
    seller,
    buyer,
    delivery: deliveryOf(inv, lines, extras, buyer),
    payment: extras.payment && { ...extras.payment, remittance: extras.payment.remittance ?? number },
    totals: totalsOf(lines, vatBreakdown),
    vatBreakdown,
    lines,
  };
}
