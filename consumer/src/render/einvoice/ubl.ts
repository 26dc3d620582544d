// UBL 2.1 Invoice and CreditNote (OASIS UBL 2.1 schemas) as EN 16931's UBL syntax binding maps the model.
// Every object below lists its elements in the xsd:sequence order of the UBL 2.1 schema.
import { decimalAmount, decimalPercent } from "./amounts.ts";
import type { EInvoice, Line, Party, Payment, PostalAddress, VatBreakdown } from "./model.ts";
import { xmlDocument, type XmlElement } from "./xml.ts";

/** BT-24 specification identifier and BT-23 business process of one UBL profile. */
export interface UblProfile {
  customizationId: string;
  profileId: string;
}

export const xrechnungUblProfile: UblProfile = {
  customizationId: "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0",
  profileId: "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0",
};

export const peppolUblProfile: UblProfile = {
  customizationId: "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0",
  profileId: "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0",
};

const namespaces = {
  Invoice: "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
  CreditNote: "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
  cac: "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
  cbc: "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
};

const vatScheme = { "cbc:ID": "VAT" };
/** BR-O-05: a line not subject to VAT has no rate (BT-152). */
const percentOf = (category: string, rateBp: number) => (category === "O" ? undefined : decimalPercent(rateBp));

function address(a: PostalAddress): XmlElement {
  return {
    "cbc:StreetName": a.street,
    "cbc:CityName": a.city,
    "cbc:PostalZone": a.postalCode,
    "cac:Country": { "cbc:IdentificationCode": a.countryCode },
  };
}

function party(p: Party): XmlElement {
  return {
    "cbc:EndpointID": p.electronicAddress && { "@schemeID": p.electronicAddress.scheme, "#": p.electronicAddress.id },
    "cac:PostalAddress": address(p.address),
    "cac:PartyTaxScheme": p.vatId ? { "cbc:CompanyID": p.vatId, "cac:TaxScheme": vatScheme } : undefined,
    "cac:PartyLegalEntity": { "cbc:RegistrationName": p.name, "cbc:CompanyID": p.legalRegistrationId },
    "cac:Contact": p.contact && {
      "cbc:Name": p.contact.name,
      "cbc:Telephone": p.contact.phone,
      "cbc:ElectronicMail": p.contact.email,
    },
  };
}

function delivery(inv: EInvoice): XmlElement | undefined {
  const d = inv.delivery;
  return (
    d && {
      "cbc:ActualDeliveryDate": d.date,
      "cac:DeliveryLocation": d.address && { "cac:Address": address(d.address) },
      "cac:DeliveryParty": d.partyName ? { "cac:PartyName": { "cbc:Name": d.partyName } } : undefined,
    }
  );
}

/** BG-16; a credit note has no cbc:DueDate, so its BT-9 goes here. */
function paymentMeans(p: Payment, dueDate: string | undefined): XmlElement {
  return {
    "cbc:PaymentMeansCode": p.meansCode,
    "cbc:PaymentDueDate": dueDate,
    "cbc:PaymentID": p.remittance,
    "cac:PayeeFinancialAccount": p.iban
      ? { "cbc:ID": p.iban, "cac:FinancialInstitutionBranch": p.bic ? { "cbc:ID": p.bic } : undefined }
      : undefined,
  };
}

function taxSubtotal(b: VatBreakdown, money: (minor: bigint) => XmlElement): XmlElement {
  return {
    "cbc:TaxableAmount": money(b.taxableMinor),
    "cbc:TaxAmount": money(b.vatMinor),
    "cac:TaxCategory": {
      "cbc:ID": b.category,
      "cbc:Percent": decimalPercent(b.rateBp), // BT-119, 0 for O too: XRechnung's BR-DE-14 wants it
      "cbc:TaxExemptionReasonCode": b.exemptionReasonCode,
      "cbc:TaxExemptionReason": b.exemptionReason,
      "cac:TaxScheme": vatScheme,
    },
  };
}

function line(l: Line, credit: boolean, money: (minor: bigint) => XmlElement): XmlElement {
  return {
    "cbc:ID": l.id,
    [credit ? "cbc:CreditedQuantity" : "cbc:InvoicedQuantity"]: { "@unitCode": l.unitCode, "#": l.quantity },
    "cbc:LineExtensionAmount": money(l.netMinor),
    "cac:Item": {
      "cbc:Name": l.itemName,
      "cac:ClassifiedTaxCategory": {
        "cbc:ID": l.vatCategory,
        "cbc:Percent": percentOf(l.vatCategory, l.vatRateBp),
        "cac:TaxScheme": vatScheme,
      },
    },
    "cac:Price": { "cbc:PriceAmount": money(l.priceMinor) },
  };
}

function totals(inv: EInvoice, money: (minor: bigint) => XmlElement): XmlElement {
  const t = inv.totals;
  return {
    "cbc:LineExtensionAmount": money(t.lineNetMinor),
    "cbc:TaxExclusiveAmount": money(t.taxExclusiveMinor),
    "cbc:TaxInclusiveAmount": money(t.taxInclusiveMinor),
    "cbc:PayableAmount": money(t.payableMinor),
  };
}

function header(inv: EInvoice, profile: UblProfile, credit: boolean): XmlElement {
  const root = credit ? "CreditNote" : "Invoice";
  return {
    "@xmlns": namespaces[root],
    "@xmlns:cac": namespaces.cac,
    "@xmlns:cbc": namespaces.cbc,
    "cbc:CustomizationID": profile.customizationId,
    "cbc:ProfileID": profile.profileId,
    "cbc:ID": inv.number,
    "cbc:IssueDate": inv.issueDate,
    "cbc:DueDate": credit ? undefined : inv.dueDate,
    [`cbc:${root}TypeCode`]: inv.typeCode,
    "cbc:Note": inv.note,
    "cbc:DocumentCurrencyCode": inv.currency,
    "cbc:BuyerReference": inv.buyerReference,
    "cac:OrderReference": inv.orderReference ? { "cbc:ID": inv.orderReference } : undefined,
    "cac:BillingReference": inv.precedingInvoice && {
      "cac:InvoiceDocumentReference": {
        "cbc:ID": inv.precedingInvoice.number,
        "cbc:IssueDate": inv.precedingInvoice.issueDate,
      },
    },
  };
}

/** Writes the model as a UBL 2.1 Invoice (BT-3 380) or CreditNote (381) of the given profile. */
export function writeUbl(inv: EInvoice, profile: UblProfile): string {
  const credit = inv.typeCode === "381";
  const money = (minor: bigint): XmlElement => ({ "@currencyID": inv.currency, "#": decimalAmount(minor, inv.currency) });
  const document: XmlElement = {
    ...header(inv, profile, credit),
    "cac:AccountingSupplierParty": { "cac:Party": party(inv.seller) },
    "cac:AccountingCustomerParty": { "cac:Party": party(inv.buyer) },
    "cac:Delivery": delivery(inv),
    "cac:PaymentMeans": inv.payment && paymentMeans(inv.payment, credit ? inv.dueDate : undefined),
    "cac:PaymentTerms": inv.paymentTerms ? { "cbc:Note": inv.paymentTerms } : undefined,
    "cac:TaxTotal": {
      "cbc:TaxAmount": money(inv.totals.vatMinor),
      "cac:TaxSubtotal": inv.vatBreakdown.map((b) => taxSubtotal(b, money)),
    },
    "cac:LegalMonetaryTotal": totals(inv, money),
    [credit ? "cac:CreditNoteLine" : "cac:InvoiceLine"]: inv.lines.map((l) => line(l, credit, money)),
  };
  return xmlDocument({ [credit ? "CreditNote" : "Invoice"]: document });
}
