// What an issued invoice must carry beyond EN 16931 for each XML e-invoice format: XRechnung 3.0 (KoSIT's
// BR-DE rules and the Peppol endpoint rules it includes) and Peppol BIS Billing 3.0 (2026.5). The consumer
// renders a format only when its profile is met; the server names the gaps of one that is not. Every rule id
// here is one the validators in einvoice/ name for the same gap (test/support/einvoice-samples.ts rejectedSamples).
import { DocumentFormat, type Address, type Invoice, type Party } from "@invoicer/sdk";
import { minorUnitDigits } from "./currencies.ts";
import { peppolIdentifierRules } from "./peppol-identifiers.ts";

/** A field the invoice lacks (or holds in a form the profile refuses), by its path in CreateInvoiceRequest. */
export interface ProfileGap {
  field: string;
  /** The rule id the profile's validator names, such as BR-DE-15 or PEPPOL-EN16931-R010. */
  rule: string;
  description: string;
}

/** The XML formats and the profile each is checked against; PDF and DOCX have none (always rendered). */
const profileOf: Partial<Record<DocumentFormat, (invoice: Invoice) => ProfileGap[]>> = {
  [DocumentFormat.XRECHNUNG_UBL]: xrechnungGaps,
  [DocumentFormat.XRECHNUNG_CII]: xrechnungGaps,
  [DocumentFormat.PEPPOL_UBL]: peppolGaps,
};

/** What the invoice lacks for `format`; empty when the format can be rendered. */
export function formatGaps(invoice: Invoice, format: DocumentFormat): ProfileGap[] {
  return profileOf[format]?.(invoice) ?? [];
}

/** The German national rules, shared by XRechnung (BR-DE-n) and Peppol BIS between German parties (DE-R-0nn). */
function germanGaps(inv: Invoice, id: (n: number, suffix?: string) => string): ProfileGap[] {
  const gaps: ProfileGap[] = [];
  const gap = (field: string, rule: string, description: string) => gaps.push({ field, rule, description });
  if (!inv.buyerReference) gap("buyer_reference", id(15), "BT-10 buyer reference (the Leitweg-ID of a public buyer) is required");
  if (!inv.payment) gap("payment", id(1), "BG-16 payment instructions are required");
  else if (inv.payment.meansCode === "59")
    gap("payment.means_code", id(25, "a"), "direct debit (59) needs a mandate (BG-19), which this API does not carry");
  else if (["48", "54", "55"].includes(inv.payment.meansCode))
    gap("payment.means_code", id(24, "a"), "card payment needs card information (BG-18), which this API does not carry");
  const contact = inv.seller?.contact;
  if (!contact || !(contact.name || contact.phone || contact.email)) gap("seller.contact", id(2), "BG-6 seller contact is required");
  else {
    if (!contact.name) gap("seller.contact.name", id(5), "BT-41 seller contact name is required");
    if (!contact.phone) gap("seller.contact.phone", id(6), "BT-42 seller contact telephone is required");
    if (!contact.email) gap("seller.contact.email", id(7), "BT-43 seller contact e-mail is required");
  }
  addressGaps(gaps, "seller.address", inv.seller?.address, { city: [id(3), "BT-37"], postalCode: [id(4), "BT-38"] });
  addressGaps(gaps, "buyer.address", inv.buyer?.address, { city: [id(8), "BT-52"], postalCode: [id(9), "BT-53"] });
  if (inv.deliveryAddress) {
    addressGaps(gaps, "delivery_address", inv.deliveryAddress, { city: [id(10), "BT-77"], postalCode: [id(11), "BT-78"] });
  }
  return gaps;
}

/** The city and postal code of an address, each with its rule id and business term. */
function addressGaps(gaps: ProfileGap[], at: string, address: Address | undefined, rules: Record<"city" | "postalCode", [string, string]>) {
  const [[cityRule, cityTerm], [postalRule, postalTerm]] = [rules.city, rules.postalCode];
  if (!address?.city) gaps.push({ field: `${at}.city`, rule: cityRule, description: `${cityTerm} city is required` });
  if (!address?.postalCode) gaps.push({ field: `${at}.postal_code`, rule: postalRule, description: `${postalTerm} post code is required` });
}

/** BT-34/BT-49, which XRechnung 3.0 and Peppol require of both parties. */
function endpointGaps(inv: Invoice): ProfileGap[] {
  const missing = (p: Party | undefined) => !p?.electronicAddress?.id;
  return [
    ...(missing(inv.seller)
      ? [{ field: "seller.electronic_address", rule: "PEPPOL-EN16931-R020", description: "BT-34 seller electronic address is required" }]
      : []),
    ...(missing(inv.buyer)
      ? [{ field: "buyer.electronic_address", rule: "PEPPOL-EN16931-R010", description: "BT-49 buyer electronic address is required" }]
      : []),
  ];
}

/** EN 16931 amounts have at most 2 decimals: a currency with more minor digits (KWD, BHD) cannot be written. */
function decimalGaps(inv: Invoice): ProfileGap[] {
  const digits = minorUnitDigits(inv.currencyCode) ?? 0;
  if (digits <= 2) return [];
  return [
    {
      field: "currency_code",
      rule: "BR-DEC-09",
      description: `${inv.currencyCode} has ${digits} minor digits; EN 16931 amounts have at most 2`,
    },
  ];
}

function xrechnungGaps(inv: Invoice): ProfileGap[] {
  return [...germanGaps(inv, (n, suffix) => `BR-DE-${n}${suffix ? `-${suffix}` : ""}`), ...endpointGaps(inv), ...decimalGaps(inv)];
}

function peppolGaps(inv: Invoice): ProfileGap[] {
  const gaps = [...endpointGaps(inv), ...peppolSchemeGaps(inv, "seller"), ...peppolSchemeGaps(inv, "buyer"), ...decimalGaps(inv)];
  if (!inv.buyerReference && !inv.orderReference) {
    gaps.push({
      field: "buyer_reference",
      rule: "PEPPOL-EN16931-R003",
      description: "BT-10 buyer reference or BT-13 order reference is required",
    });
  }
  if (inv.payment?.meansCode === "49" || inv.payment?.meansCode === "59") {
    gaps.push({
      field: "payment.means_code",
      rule: "PEPPOL-EN16931-R061",
      description: "direct debit needs a mandate reference (BT-89), which this API does not carry",
    });
  }
  const german = inv.seller?.address?.countryCode === "DE" && inv.buyer?.address?.countryCode === "DE";
  const germanRule = (n: number, suffix?: string) => `DE-R-${String(n).padStart(3, "0")}${suffix ? `-${suffix === "a" ? 1 : 2}` : ""}`;
  return german ? [...germanGaps(inv, germanRule), ...gaps] : gaps;
}

/** The EAS codes Peppol accepts as an endpoint scheme (PEPPOL-EN16931-CL008, code list of BIS 2026.5): no EM, no AN-AU. */
const peppolEas = new Set(
  (
    "0002 0007 0009 0060 0088 0096 0097 0106 0130 0135 0142 0151 0183 0184 0188 0190 0191 0192 0195 0196 0198 0199 0200 " +
    "0201 0204 0208 0209 0210 0211 0216 0218 0221 0225 0230 0235 0240 0242 0244 0245 0246 0248 9910 9913 9914 9915 9918 " +
    "9919 9920 9922 9923 9924 9925 9926 9927 9928 9929 9930 9931 9932 9933 9934 9935 9936 9937 9938 9939 9940 9941 9942 " +
    "9943 9944 9945 9946 9947 9948 9949 9950 9951 9952 9953 9957 9959"
  ).split(" "),
);

function peppolSchemeGaps(inv: Invoice, at: "seller" | "buyer"): ProfileGap[] {
  const address = inv[at]?.electronicAddress;
  if (!address?.id) return [];
  const field = `${at}.electronic_address`;
  if (!peppolEas.has(address.scheme))
    return [
      { field: `${field}.scheme`, rule: "PEPPOL-EN16931-CL008", description: `EAS ${address.scheme} is not a Peppol endpoint scheme` },
    ];
  const scheme = peppolIdentifierRules[address.scheme];
  if (scheme && !scheme.valid(address.id)) return [{ field: `${field}.id`, rule: scheme.rule, description: scheme.description }];
  return [];
}
