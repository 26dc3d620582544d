// UN/CEFACT Cross Industry Invoice D16B as EN 16931's CII syntax binding maps the model: XRechnung CII,
// and the XML a Factur-X / ZUGFeRD EN 16931 PDF embeds. Objects list elements in the D16B schema's order.
import { decimalAmount, decimalPercent } from "./amounts.ts";
import type { EInvoice, Line, Party, Payment, PostalAddress, VatBreakdown } from "./model.ts";
import { xmlDocument, type XmlElement } from "./xml.ts";

/** BT-24 specification identifier and optional BT-23 business process of one CII profile. */
export interface CiiProfile {
  guidelineId: string;
  businessProcessId?: string;
}

export const xrechnungCiiProfile: CiiProfile = {
  guidelineId: "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0",
  businessProcessId: "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0",
};

/** The Factur-X / ZUGFeRD profile EN 16931 ("Comfort"). */
export const facturXCiiProfile: CiiProfile = { guidelineId: "urn:cen.eu:en16931:2017" };

const namespaces = {
  "@xmlns:rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
  "@xmlns:ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
  "@xmlns:qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
  "@xmlns:udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
};

type Money = (minor: bigint, withCurrency?: boolean) => XmlElement;

/** A YYYY-MM-DD date as CII's format 102 (YYYYMMDD) in the given data type's namespace. */
const date = (iso: string, prefix: "udt" | "qdt" = "udt"): XmlElement => ({
  [`${prefix}:DateTimeString`]: { "@format": "102", "#": iso.replaceAll("-", "") },
});
const percentOf = (category: string, rateBp: number) => (category === "O" ? undefined : decimalPercent(rateBp));

function address(a: PostalAddress): XmlElement {
  return {
    "ram:PostcodeCode": a.postalCode,
    "ram:LineOne": a.street,
    "ram:CityName": a.city,
    "ram:CountryID": a.countryCode,
  };
}

function party(p: Party): XmlElement {
  const c = p.contact;
  return {
    "ram:Name": p.name,
    "ram:SpecifiedLegalOrganization": p.legalRegistrationId ? { "ram:ID": p.legalRegistrationId } : undefined,
    "ram:DefinedTradeContact": c && {
      "ram:PersonName": c.name,
      "ram:TelephoneUniversalCommunication": c.phone ? { "ram:CompleteNumber": c.phone } : undefined,
      "ram:EmailURIUniversalCommunication": c.email ? { "ram:URIID": c.email } : undefined,
    },
    "ram:PostalTradeAddress": address(p.address),
    "ram:URIUniversalCommunication": p.electronicAddress && {
      "ram:URIID": { "@schemeID": p.electronicAddress.scheme, "#": p.electronicAddress.id },
    },
    "ram:SpecifiedTaxRegistration": p.vatId ? { "ram:ID": { "@schemeID": "VA", "#": p.vatId } } : undefined,
  };
}

function line(l: Line, money: Money): XmlElement {
  return {
    "ram:AssociatedDocumentLineDocument": { "ram:LineID": l.id },
    "ram:SpecifiedTradeProduct": { "ram:Name": l.itemName },
    "ram:SpecifiedLineTradeAgreement": { "ram:NetPriceProductTradePrice": { "ram:ChargeAmount": money(l.priceMinor, false) } },
    "ram:SpecifiedLineTradeDelivery": { "ram:BilledQuantity": { "@unitCode": l.unitCode, "#": l.quantity } },
    "ram:SpecifiedLineTradeSettlement": {
      "ram:ApplicableTradeTax": {
        "ram:TypeCode": "VAT",
        "ram:CategoryCode": l.vatCategory,
        "ram:RateApplicablePercent": percentOf(l.vatCategory, l.vatRateBp),
      },
      "ram:SpecifiedTradeSettlementLineMonetarySummation": { "ram:LineTotalAmount": money(l.netMinor, false) },
    },
  };
}

function agreement(inv: EInvoice): XmlElement {
  return {
    "ram:BuyerReference": inv.buyerReference,
    "ram:SellerTradeParty": party(inv.seller),
    "ram:BuyerTradeParty": party(inv.buyer),
    "ram:BuyerOrderReferencedDocument": inv.orderReference ? { "ram:IssuerAssignedID": inv.orderReference } : undefined,
  };
}

function delivery(inv: EInvoice): XmlElement {
  const d = inv.delivery;
  return {
    "ram:ShipToTradeParty":
      d?.address || d?.partyName ? { "ram:Name": d.partyName, "ram:PostalTradeAddress": d.address && address(d.address) } : undefined,
    "ram:ActualDeliverySupplyChainEvent": d?.date ? { "ram:OccurrenceDateTime": date(d.date) } : undefined,
  };
}

function paymentMeans(p: Payment): XmlElement {
  return {
    "ram:TypeCode": p.meansCode,
    "ram:PayeePartyCreditorFinancialAccount": p.iban ? { "ram:IBANID": p.iban } : undefined,
    "ram:PayeeSpecifiedCreditorFinancialInstitution": p.bic ? { "ram:BICID": p.bic } : undefined,
  };
}

function tradeTax(b: VatBreakdown, money: Money): XmlElement {
  return {
    "ram:CalculatedAmount": money(b.vatMinor, false),
    "ram:TypeCode": "VAT",
    "ram:ExemptionReason": b.exemptionReason,
    "ram:BasisAmount": money(b.taxableMinor, false),
    "ram:CategoryCode": b.category,
    "ram:ExemptionReasonCode": b.exemptionReasonCode,
    "ram:RateApplicablePercent": decimalPercent(b.rateBp), // BT-119, 0 for O too: XRechnung's BR-DE-14 wants it
  };
}

function settlement(inv: EInvoice, money: Money): XmlElement {
  const t = inv.totals;
  const terms = inv.paymentTerms || inv.dueDate;
  return {
    "ram:PaymentReference": inv.payment?.remittance,
    "ram:InvoiceCurrencyCode": inv.currency,
    "ram:SpecifiedTradeSettlementPaymentMeans": inv.payment && paymentMeans(inv.payment),
    "ram:ApplicableTradeTax": inv.vatBreakdown.map((b) => tradeTax(b, money)),
    "ram:SpecifiedTradePaymentTerms": terms
      ? { "ram:Description": inv.paymentTerms, "ram:DueDateDateTime": inv.dueDate ? date(inv.dueDate) : undefined }
      : undefined,
    "ram:SpecifiedTradeSettlementHeaderMonetarySummation": {
      "ram:LineTotalAmount": money(t.lineNetMinor, false),
      "ram:TaxBasisTotalAmount": money(t.taxExclusiveMinor, false),
      "ram:TaxTotalAmount": money(t.vatMinor, true),
      "ram:GrandTotalAmount": money(t.taxInclusiveMinor, false),
      "ram:DuePayableAmount": money(t.payableMinor, false),
    },
    "ram:InvoiceReferencedDocument": inv.precedingInvoice && {
      "ram:IssuerAssignedID": inv.precedingInvoice.number,
      "ram:FormattedIssueDateTime": inv.precedingInvoice.issueDate ? date(inv.precedingInvoice.issueDate, "qdt") : undefined,
    },
  };
}

/** Writes the model as a CII D16B CrossIndustryInvoice of the given profile (credit notes are TypeCode 381). */
export function writeCii(inv: EInvoice, profile: CiiProfile): string {
  const money: Money = (minor, withCurrency) => ({
    "@currencyID": withCurrency ? inv.currency : undefined,
    "#": decimalAmount(minor, inv.currency),
  });
  return xmlDocument({
    "rsm:CrossIndustryInvoice": {
      ...namespaces,
      "rsm:ExchangedDocumentContext": {
        "ram:BusinessProcessSpecifiedDocumentContextParameter": profile.businessProcessId
          ? { "ram:ID": profile.businessProcessId }
          : undefined,
        "ram:GuidelineSpecifiedDocumentContextParameter": { "ram:ID": profile.guidelineId },
      },
      "rsm:ExchangedDocument": {
        "ram:ID": inv.number,
        "ram:TypeCode": inv.typeCode,
        "ram:IssueDateTime": date(inv.issueDate),
        "ram:IncludedNote": inv.note ? { "ram:Content": inv.note } : undefined,
      },
      "rsm:SupplyChainTradeTransaction": {
        "ram:IncludedSupplyChainTradeLineItem": inv.lines.map((l) => line(l, money)),
        "ram:ApplicableHeaderTradeAgreement": agreement(inv),
        "ram:ApplicableHeaderTradeDelivery": delivery(inv),
        "ram:ApplicableHeaderTradeSettlement": settlement(inv, money),
      },
    },
  });
}
