// The e-invoice corpus: one issued invoice (or credit note) per case EN 16931 distinguishes, each as today's
// proto `Invoice` plus the extras the proto gains later. Unit tests assert on it; scripts/einvoice-corpus.ts
// writes every format of it to a folder for the validators.
import { clone, create, type MessageInitShape } from "@bufbuild/protobuf";
import { InvoiceSchema, InvoiceStatus, type Invoice, type PartySchema } from "@invoicer/sdk";
import type { EInvoiceExtras, EInvoiceFormat, LineExtras, PartyExtras } from "../../consumer/src/render/einvoice/index.ts";
import { priceInvoice } from "../../server/src/domain/pricing.ts";
import { vatBreakdownToProto } from "../../server/src/invoices/to-proto.ts";

export interface Sample {
  name: string;
  invoice: Invoice;
  extras: EInvoiceExtras;
}

type PartyInit = MessageInitShape<typeof PartySchema>;
interface SampleLine extends LineExtras {
  description: string;
  quantity?: bigint;
  unitPriceMinor: bigint;
  vatRateBp: number;
}

/** A GLN (EAS 0088) with its GS1 check digit, which Peppol verifies. */
export function gln(twelveDigits: string): string {
  const sum = [...twelveDigits].reduce((s, d, i) => s + Number(d) * (i % 2 === 0 ? 1 : 3), 0);
  return twelveDigits + String((10 - (sum % 10)) % 10);
}

export const seller: PartyInit = {
  name: "Acme Consulting GmbH",
  vatId: "DE123456789",
  address: { street: "Hauptstraße 1", city: "Berlin", postalCode: "10115", countryCode: "DE" },
};
export const sellerExtras: PartyExtras = {
  electronicAddress: { scheme: "9930", id: "DE123456789" },
  legalRegistrationId: "HRB 123456 B",
  contact: { name: "Erika Mustermann", phone: "+49 30 1234567", email: "billing@acme.example" },
};
const germanBuyer: PartyInit = {
  name: "Bundesamt für Beispiele",
  vatId: "DE987654321",
  address: { street: "Platz der Republik 1", city: "Bonn", postalCode: "53113", countryCode: "DE" },
};
const leitwegId = "04011000-12345-03";
const payment = { meansCode: "58", iban: "DE89370400440532013000", bic: "COBADEFFXXX" };

function invoiceOf(number: bigint, lines: SampleLine[], parties: { seller?: PartyInit; buyer: PartyInit }, currencyCode = "EUR") {
  const amounts = lines.map((l) => ({ quantity: l.quantity ?? 1n, unitPriceMinor: l.unitPriceMinor, vatRateBp: l.vatRateBp }));
  const p = priceInvoice(amounts);
  return create(InvoiceSchema, {
    id: `0190f3a2-7c4e-7d21-9b1a-${number.toString().padStart(12, "0")}`,
    number,
    status: InvoiceStatus.ISSUED,
    currencyCode,
    seller: parties.seller ?? seller,
    buyer: parties.buyer,
    lines: lines.map((l, i) => ({ ...amounts[i]!, description: l.description, netMinor: p.netMinor[i]! })),
    vatBreakdown: p.vatBreakdown.map(vatBreakdownToProto),
    subtotalMinor: p.subtotalMinor,
    vatTotalMinor: p.vatTotalMinor,
    totalMinor: p.totalMinor,
    issueDate: "2026-12-01",
    supplyDate: "2026-11-30",
    dueDate: "2026-12-31",
    note: "Thank you for your business.\r\nQuestions? Write to billing@acme.example & quote the invoice number.",
  });
}

const lineExtras = (lines: SampleLine[]): LineExtras[] =>
  lines.map(({ unitCode, vatCategory, exemptionReason, exemptionReasonCode, quantityDecimal }) => ({
    unitCode,
    vatCategory,
    exemptionReason,
    exemptionReasonCode,
    quantityDecimal,
  }));

function sample(
  name: string,
  number: bigint,
  lines: SampleLine[],
  buyer: { party: PartyInit; extras: PartyExtras; reference?: string },
  options: { seller?: PartyInit; sellerExtras?: PartyExtras; currency?: string } = {},
): Sample {
  return {
    name,
    invoice: invoiceOf(number, lines, { seller: options.seller, buyer: buyer.party }, options.currency),
    extras: {
      buyerReference: buyer.reference ?? `PO-${number}`,
      orderReference: `PO-${number}`,
      paymentTerms: "Payable within 30 days without deduction.",
      seller: options.sellerExtras ?? sellerExtras,
      buyer: buyer.extras,
      payment,
      lines: lineExtras(lines),
    },
  };
}

const publicBuyer = {
  party: germanBuyer,
  extras: { electronicAddress: { scheme: "0204", id: leitwegId }, contact: { name: "Max Beispiel" } },
  reference: leitwegId,
};
/** A business buyer reached by its GLN (EAS 0088), which every profile accepts. */
function buyerIn(name: string, address: PartyInit["address"] & { countryCode: string }, vatId = "") {
  const code = address.countryCode;
  return {
    party: { name, vatId, address },
    extras: { electronicAddress: { scheme: "0088", id: gln(`40000010${code.charCodeAt(0)}${code.charCodeAt(1)}`) } },
  };
}

const standardLines: SampleLine[] = [
  { description: "Consulting, senior (hours)", quantityDecimal: "1.5", unitCode: "HUR", unitPriceMinor: 12_050n, vatRateBp: 1900 },
  { description: "Travel time (hours)", quantityDecimal: "2.3333", unitCode: "HUR", unitPriceMinor: 1_999n, vatRateBp: 1900 },
  { description: "Reference book", quantity: 3n, unitPriceMinor: 2_990n, vatRateBp: 700 },
  { description: "Rounding probe: half a cent", quantityDecimal: "0.5", unitPriceMinor: 1n, vatRateBp: 700 },
  { description: "Printed newspaper subscription", quantity: 1n, unitPriceMinor: 1_200n, vatRateBp: 0 },
];

const exempt = {
  vatCategory: "E" as const,
  exemptionReason: "Exempt: medical treatment, art. 132(1)(c) VAT directive",
  exemptionReasonCode: "VATEX-EU-132-1C",
};
const reverseCharge = { vatCategory: "AE" as const, exemptionReason: "Reverse charge", exemptionReasonCode: "VATEX-EU-AE" };
const intraCommunity = { vatCategory: "K" as const, exemptionReason: "Intra-community supply", exemptionReasonCode: "VATEX-EU-IC" };
const exportOutsideEu = { vatCategory: "G" as const, exemptionReason: "Export outside the EU", exemptionReasonCode: "VATEX-EU-G" };
const notSubject = { vatCategory: "O" as const, exemptionReason: "Not subject to VAT", exemptionReasonCode: "VATEX-EU-O" };

const scripts = [
  "Μελέτη σκοπιμότητας και τεκμηρίωση",
  "软件开发服务（第二阶段）",
  "خدمات استشارية لتطوير البرمجيات",
  "日本語の翻訳サービス",
];

/** Every invoice of the corpus (`creditNoteSamples` credits the first). */
export function invoiceSamples(): Sample[] {
  return [
    sample("standard-mixed-rates", 101n, standardLines, publicBuyer),
    sample(
      "exempt",
      102n,
      [
        { description: "Physiotherapy session", quantity: 4n, unitPriceMinor: 6_500n, vatRateBp: 0, ...exempt },
        { description: "Towel", quantity: 1n, unitPriceMinor: 900n, vatRateBp: 1900 },
      ],
      publicBuyer,
    ),
    sample(
      "reverse-charge",
      103n,
      [{ description: "Cloud migration services", quantity: 10n, unitPriceMinor: 95_000n, vatRateBp: 0, ...reverseCharge }],
      buyerIn("Exemple SARL", { street: "1 rue de Rivoli", city: "Paris", postalCode: "75001", countryCode: "FR" }, "FR40303265045"),
    ),
    sample(
      "intra-community",
      104n,
      [{ description: "Server rack", quantity: 2n, unitPriceMinor: 249_900n, vatRateBp: 0, ...intraCommunity }],
      buyerIn("Beispiel GmbH", { street: "Ring 1", city: "Wien", postalCode: "1010", countryCode: "AT" }, "ATU12345678"),
    ),
    sample(
      "export-outside-eu",
      105n,
      [{ description: "Industrial sensor", quantity: 25n, unitPriceMinor: 4_999n, vatRateBp: 0, ...exportOutsideEu }],
      buyerIn(`Example & Sons "Intl." <US>`, { street: "5 Main Street", city: "Springfield", postalCode: "62701", countryCode: "US" }),
    ),
    sample(
      "not-subject",
      106n,
      [{ description: "Damages (not a supply)", quantity: 1n, unitPriceMinor: 150_000n, vatRateBp: 0, ...notSubject }],
      buyerIn("Beispiel AG", { street: "Bahnhofstrasse 1", city: "Zürich", postalCode: "8001", countryCode: "CH" }),
      {
        seller: { ...seller, vatId: "" },
        sellerExtras: { ...sellerExtras, electronicAddress: { scheme: "0088", id: gln("400000100001") } },
      },
    ),
    sample(
      "hundred-lines-non-latin",
      107n,
      Array.from({ length: 100 }, (_, i) => ({
        description: `${scripts[i % scripts.length]} #${i + 1}`,
        quantityDecimal: `${(i % 7) + 1}.${i % 10}25`,
        unitCode: "HUR",
        unitPriceMinor: BigInt(1_001 + i * 37),
        vatRateBp: i % 3 === 0 ? 700 : 1900,
      })),
      buyerIn(
        "Ελληνική Εταιρεία Λογισμικού Α.Ε. — 東京支店 — شركة",
        { street: "Οδός Ερμού 12", city: "Αθήνα", postalCode: "10431", countryCode: "GR" },
        "EL094259216",
      ),
    ),
    sample(
      "buyer-outside-eu-jpy",
      108n,
      [{ description: "ソフトウェア保守（年間）", quantity: 12n, unitPriceMinor: 125_000n, vatRateBp: 0, ...exportOutsideEu }],
      buyerIn("株式会社サンプル", { street: "丸の内1-1-1", city: "東京都千代田区", postalCode: "100-0001", countryCode: "JP" }),
      { currency: "JPY" },
    ),
  ];
}

/** A credit note (381) of `credited`, referencing it (BG-3); `lines` picks lines by index with the quantity credited. */
function creditNote(name: string, number: bigint, credited: Sample, lines?: Array<[index: number, quantity: string]>): Sample {
  const picked =
    lines ??
    credited.invoice.lines.map((l, i): [number, string] => [i, credited.extras.lines?.[i]?.quantityDecimal ?? l.quantity.toString()]);
  const sampleLines = picked.map(([i, quantity]): SampleLine => {
    const l = credited.invoice.lines[i]!;
    return {
      ...credited.extras.lines?.[i],
      description: l.description,
      unitPriceMinor: l.unitPriceMinor,
      vatRateBp: l.vatRateBp,
      quantityDecimal: quantity,
    };
  });
  const base = sample(name, number, sampleLines, {
    party: credited.invoice.buyer!,
    extras: credited.extras.buyer!,
    reference: credited.extras.buyerReference,
  });
  const precedingInvoice = { number: credited.invoice.number.toString(), issueDate: credited.invoice.issueDate };
  base.invoice.note = `Credit note for invoice ${credited.invoice.number}`;
  return { ...base, extras: { ...base.extras, typeCode: "381", precedingInvoice } };
}

/** A full and a partial credit note of the first invoice sample. */
export function creditNoteSamples(): Sample[] {
  const [invoice] = invoiceSamples();
  return [
    creditNote("credit-note-full", 201n, invoice!),
    creditNote("credit-note-partial", 202n, invoice!, [
      [0, "0.5"],
      [2, "1"],
    ]),
  ];
}

export const allSamples = (): Sample[] => [...invoiceSamples(), ...creditNoteSamples()];

/** A sample the validators must reject, with the rule each format's validator names (absent: that format accepts it). */
export interface RejectedSample extends Sample {
  rules: Partial<Record<EInvoiceFormat, string>>;
}

function changed(s: Sample, name: string, change: (s: Sample) => void): Sample {
  const copy = { name, extras: structuredClone(s.extras), invoice: clone(InvoiceSchema, s.invoice) };
  change(copy);
  return copy;
}
const everywhere = (rule: string) => ({ xrechnungUbl: rule, xrechnungCii: rule, peppolUbl: rule, facturXCii: rule });
/** XRechnung's rule, and the Peppol BIS national rule for a German seller (DE-R-nnn since 2026.5). */
const german = (n: number) => ({ xrechnungUbl: `BR-DE-${n}`, xrechnungCii: `BR-DE-${n}`, peppolUbl: `DE-R-${String(n).padStart(3, "0")}` });

/** One gap per sample, each refused by a validator: the later API must refuse the same with the same rule id. */
export function rejectedSamples(): RejectedSample[] {
  const [standard, exempt, reverse, , , notSubject] = invoiceSamples() as [Sample, Sample, Sample, Sample, Sample, Sample];
  const noExemption = (s: Sample) => {
    s.extras.lines![0] = { ...s.extras.lines![0], exemptionReason: undefined, exemptionReasonCode: undefined };
  };
  return [
    { ...changed(standard, "no-buyer-reference", (s) => delete s.extras.buyerReference), rules: german(15) },
    { ...changed(standard, "no-seller-contact", (s) => delete s.extras.seller!.contact), rules: german(2) },
    { ...changed(standard, "no-payment-instructions", (s) => delete s.extras.payment), rules: german(1) },
    {
      ...changed(standard, "no-buyer-electronic-address", (s) => delete s.extras.buyer!.electronicAddress),
      rules: { xrechnungUbl: "PEPPOL-EN16931-R010", xrechnungCii: "PEPPOL-EN16931-R010", peppolUbl: "PEPPOL-EN16931-R010" },
    },
    { ...changed(exempt, "exempt-without-reason", noExemption), rules: everywhere("BR-E-10") },
    { ...changed(reverse, "reverse-charge-without-buyer-vat-id", (s) => (s.invoice.buyer!.vatId = "")), rules: everywhere("BR-AE-02") },
    {
      ...changed(notSubject, "not-subject-with-seller-vat-id", (s) => (s.invoice.seller!.vatId = "DE123456789")),
      rules: everywhere("BR-O-02"),
    },
    { ...changed(standard, "standard-without-seller-vat-id", (s) => (s.invoice.seller!.vatId = "")), rules: everywhere("BR-S-02") },
  ];
}
