// The e-invoice corpus: one issued invoice (or credit note) per case EN 16931 distinguishes, each a CreateInvoiceRequest
// turned into the proto `Invoice` the API returns by the server's own mapping (newInvoice, issuedRecord, toInvoice).
// Unit tests assert on it; einvoice/corpus.ts writes every format of it to a folder for the validators.
import { clone, create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  AddressSchema,
  CreateCreditNoteRequestSchema,
  CreateInvoiceRequestSchema,
  ElectronicAddressSchema,
  VatCategory,
  type CreateInvoiceRequest,
  type Invoice,
  LineInputSchema,
  type PartySchema,
} from "@invoicer/sdk";
import type { EInvoiceExtras, EInvoiceFormat } from "../../consumer/src/render/einvoice/index.ts";
import { newCreditNote } from "../../server/src/invoices/credit-note-service.ts";
import { issuedRecord, type InvoiceRecord, type NewInvoice } from "../../server/src/invoices/invoice-store.ts";
import { newInvoice } from "../../server/src/invoices/invoice-service.ts";
import { toInvoice } from "../../server/src/invoices/to-proto.ts";

export interface Sample {
  name: string;
  /** What a client sends (a credit note's: the CreateInvoiceRequest of the same fields and its credited lines). */
  request: CreateInvoiceRequest;
  invoice: Invoice;
  /** What the proto does not carry yet (EInvoiceExtras). */
  extras: EInvoiceExtras;
}

type PartyInit = MessageInitShape<typeof PartySchema>;
type SampleLine = MessageInitShape<typeof LineInputSchema>;

/** A GLN (EAS 0088) with its GS1 check digit, which Peppol verifies. */
export function gln(twelveDigits: string): string {
  const sum = [...twelveDigits].reduce((s, d, i) => s + Number(d) * (i % 2 === 0 ? 1 : 3), 0);
  return twelveDigits + String((10 - (sum % 10)) % 10);
}

const sellerFields = {
  name: "Acme Consulting GmbH",
  vatId: "DE123456789",
  address: { street: "Hauptstraße 1", city: "Berlin", postalCode: "10115", countryCode: "DE" },
  electronicAddress: { scheme: "9930", id: "DE123456789" },
  legalRegistrationId: "HRB 123456 B",
  contact: { name: "Erika Mustermann", phone: "+49 30 1234567", email: "billing@acme.example" },
};
export const seller: PartyInit = sellerFields;
const germanBuyer: PartyInit = {
  name: "Bundesamt für Beispiele",
  vatId: "DE987654321",
  address: { street: "Platz der Republik 1", city: "Bonn", postalCode: "53113", countryCode: "DE" },
};
const leitwegId = "04011000-12345-03";
const payment = { meansCode: "58", iban: "DE89370400440532013000", bic: "COBADEFFXXX", terms: "Payable within 30 days without deduction." };

const tenantId = "0190f3a2-7c4e-7d21-9b1a-000000000000";
const today = () => "2026-12-01";
const idOf = (number: bigint) => `0190f3a2-7c4e-7d21-9b1a-${number.toString().padStart(12, "0")}`;

/** The invoice as stored when `draft` is issued with `number`, under the id the samples give that number. */
function issued(draft: NewInvoice, number: bigint): InvoiceRecord {
  const record = issuedRecord({ ...draft, id: idOf(number) }, number, new Date("2026-12-01T09:30:00Z"));
  return { ...record, lines: record.lines.map((l) => ({ ...l, invoiceId: record.id })) };
}

/** The invoice the API returns for `request` when it is issued with `number` (the request is not validated: rejected samples are built too). */
export function invoiceOf(request: CreateInvoiceRequest, number: bigint): Invoice {
  return toInvoice(issued(newInvoice(request, tenantId, today), number));
}

function sample(
  name: string,
  number: bigint,
  lines: SampleLine[],
  buyer: { party: PartyInit; reference?: string },
  options: { seller?: PartyInit; currency?: string } = {},
): Sample {
  const request = create(CreateInvoiceRequestSchema, {
    idempotencyKey: `sample-${name}`,
    currencyCode: options.currency ?? "EUR",
    seller: options.seller ?? seller,
    buyer: buyer.party,
    lines: lines.map((l) => ({ quantity: l.quantityDecimal ? 0n : 1n, ...l })),
    issueDate: "2026-12-01",
    supplyDate: "2026-11-30",
    dueDate: "2026-12-31",
    note: "Thank you for your business.\nQuestions? Write to billing@acme.example & quote the invoice number.",
    buyerReference: buyer.reference ?? `PO-${number}`,
    orderReference: `PO-${number}`,
    payment,
  });
  return { name, request, invoice: invoiceOf(request, number), extras: {} };
}

const publicBuyer = {
  party: { ...germanBuyer, electronicAddress: { scheme: "0204", id: leitwegId }, contact: { name: "Max Beispiel" } },
  reference: leitwegId,
};
/** A business buyer reached by its GLN (EAS 0088), which every profile accepts. */
function buyerIn(name: string, address: PartyInit["address"] & { countryCode: string }, vatId = "") {
  const code = address.countryCode;
  return {
    party: { name, vatId, address, electronicAddress: { scheme: "0088", id: gln(`40000010${code.charCodeAt(0)}${code.charCodeAt(1)}`) } },
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
  vatCategory: VatCategory.EXEMPT,
  vatExemptionReason: "Exempt: medical treatment, art. 132(1)(c) VAT directive",
  vatExemptionReasonCode: "VATEX-EU-132-1C",
};
const reverseCharge = {
  vatCategory: VatCategory.REVERSE_CHARGE,
  vatExemptionReason: "Reverse charge",
  vatExemptionReasonCode: "VATEX-EU-AE",
};
const intraCommunity = {
  vatCategory: VatCategory.INTRA_COMMUNITY,
  vatExemptionReason: "Intra-community supply",
  vatExemptionReasonCode: "VATEX-EU-IC",
};
const exportOutsideEu = {
  vatCategory: VatCategory.EXPORT,
  vatExemptionReason: "Export outside the EU",
  vatExemptionReasonCode: "VATEX-EU-G",
};
const notSubject = { vatCategory: VatCategory.NOT_SUBJECT, vatExemptionReason: "Not subject to VAT", vatExemptionReasonCode: "VATEX-EU-O" };

// Scripts the invoice PDF prints (decision 0039): the API refuses CJK and right-to-left text.
const scripts = [
  "Μελέτη σκοπιμότητας και τεκμηρίωση",
  "Разработка программного обеспечения (второй этап)",
  "პროგრამული უზრუნველყოფის კონსულტაცია",
  "Ծրագրային ապահովման թարգմանություն",
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
      { seller: { ...sellerFields, vatId: "", electronicAddress: { scheme: "0088", id: gln("400000100001") } } },
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
        "Ελληνική Εταιρεία Λογισμικού Α.Ε. — Київська філія — თბილისი",
        { street: "Οδός Ερμού 12", city: "Αθήνα", postalCode: "10431", countryCode: "GR" },
        "EL094259216",
      ),
    ),
    sample(
      "buyer-outside-eu-jpy",
      108n,
      [{ description: "Software maintenance (yearly)", quantity: 12n, unitPriceMinor: 125_000n, vatRateBp: 0, ...exportOutsideEu }],
      buyerIn("Sanpuru Kabushiki Kaisha", {
        street: "Marunouchi 1-1-1",
        city: "Chiyoda-ku, Tōkyō",
        postalCode: "100-0001",
        countryCode: "JP",
      }),
      { currency: "JPY" },
    ),
    sample(
      "intra-community-swedish-organisation-number",
      109n,
      [{ description: "Spare parts", quantity: 40n, unitPriceMinor: 1_250n, vatRateBp: 0, ...intraCommunity }],
      {
        party: {
          name: "Exempel AB",
          vatId: "SE556036079301",
          address: { street: "Storgatan 1", city: "Göteborg", postalCode: "41101", countryCode: "SE" },
          electronicAddress: { scheme: "0007", id: "5560360793" },
        },
      },
    ),
  ];
}

/**
 * A credit note (381) of `credited` as CreateCreditNote issues it with `number` (the server's own mapping);
 * `lines` picks lines of the invoice by index with the quantity credited, none credits it all.
 */
function creditNote(name: string, number: bigint, credited: Sample, lines: Array<[index: number, quantity: string]> = []): Sample {
  const request = create(CreateCreditNoteRequestSchema, {
    idempotencyKey: `sample-${name}`,
    invoiceId: credited.invoice.id,
    reason: `Credit note for invoice ${credited.invoice.number}`,
    issueDate: "2026-12-01",
    lines: lines.map(([i, quantityDecimal]) =>
      Object.assign(clone(LineInputSchema, credited.request.lines[i]!), { quantity: 0n, quantityDecimal }),
    ),
  });
  const creditedRecord = issued(newInvoice(credited.request, tenantId, today), credited.invoice.number);
  const invoice = toInvoice(issued(newCreditNote(request, creditedRecord, tenantId, today), number));
  return { name, request: creditedRequestOf(invoice), invoice, extras: {} };
}

/** What a client would send to create the same document as an invoice: its fields, the credit note's lines. */
function creditedRequestOf(invoice: Invoice): CreateInvoiceRequest {
  return create(CreateInvoiceRequestSchema, {
    idempotencyKey: `request-${invoice.number}`,
    currencyCode: invoice.currencyCode,
    seller: invoice.seller,
    buyer: invoice.buyer,
    lines: invoice.lines.map(({ netMinor: _, $typeName: __, ...line }) => line),
    issueDate: invoice.issueDate,
    supplyDate: invoice.supplyDate,
    dueDate: invoice.dueDate,
    note: invoice.note,
    buyerReference: invoice.buyerReference,
    orderReference: invoice.orderReference,
    payment: invoice.payment,
    deliveryAddress: invoice.deliveryAddress,
  });
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

/** A copy of `s` whose request is changed, issued again as the API would (if it let the request through). */
function changed(s: Sample, name: string, change: (request: CreateInvoiceRequest) => void): Sample {
  const request = clone(CreateInvoiceRequestSchema, s.request);
  change(request);
  return { name, request, invoice: invoiceOf(request, s.invoice.number), extras: structuredClone(s.extras) };
}
const everywhere = (rule: string) => ({ xrechnungUbl: rule, xrechnungCii: rule, peppolUbl: rule, facturXCii: rule });
const xrechnung = (rule: string) => ({ xrechnungUbl: rule, xrechnungCii: rule });
/** XRechnung's rule, and the Peppol BIS national rule for a German seller (DE-R-nnn since 2026.5). */
const german = (n: number) => ({ xrechnungUbl: `BR-DE-${n}`, xrechnungCii: `BR-DE-${n}`, peppolUbl: `DE-R-${String(n).padStart(3, "0")}` });

/** One gap per sample, each refused by a validator: the API refuses the EN 16931 ones (BR-...) at create with the same rule id. */
export function rejectedSamples(): RejectedSample[] {
  const [standard, exempt, reverse, , , notSubject] = invoiceSamples() as [Sample, Sample, Sample, Sample, Sample, Sample];
  const sellerContact = (r: CreateInvoiceRequest) => r.seller!.contact!;
  const noExemption = (r: CreateInvoiceRequest) => Object.assign(r.lines[0]!, { vatExemptionReason: "", vatExemptionReasonCode: "" });
  return [
    { ...changed(standard, "no-buyer-reference", (r) => (r.buyerReference = "")), rules: german(15) },
    { ...changed(standard, "no-seller-contact", (r) => (r.seller!.contact = undefined)), rules: german(2) },
    { ...changed(standard, "no-payment-instructions", (r) => (r.payment = undefined)), rules: german(1) },
    { ...changed(standard, "no-seller-contact-name", (r) => (sellerContact(r).name = "")), rules: german(5) },
    { ...changed(standard, "no-seller-contact-phone", (r) => (sellerContact(r).phone = "")), rules: german(6) },
    { ...changed(standard, "no-seller-contact-email", (r) => (sellerContact(r).email = "")), rules: german(7) },
    {
      ...changed(standard, "no-buyer-electronic-address", (r) => (r.buyer!.electronicAddress = undefined)),
      rules: { xrechnungUbl: "PEPPOL-EN16931-R010", xrechnungCii: "PEPPOL-EN16931-R010", peppolUbl: "PEPPOL-EN16931-R010" },
    },
    ...profileSamples(standard, reverse),
    { ...changed(exempt, "exempt-without-reason", noExemption), rules: everywhere("BR-E-10") },
    { ...changed(reverse, "reverse-charge-without-buyer-vat-id", (r) => (r.buyer!.vatId = "")), rules: everywhere("BR-AE-02") },
    {
      ...changed(notSubject, "not-subject-with-seller-vat-id", (r) => (r.seller!.vatId = "DE123456789")),
      rules: everywhere("BR-O-02"),
    },
    { ...changed(standard, "standard-without-seller-vat-id", (r) => (r.seller!.vatId = "")), rules: everywhere("BR-S-02") },
  ];
}

/** Peppol endpoint identifiers in a form their scheme's fatal check refuses (PEPPOL-COMMON-R041 to R053). */
function wrongIdentifiers(reverse: Sample): RejectedSample[] {
  const endpoints: Array<[name: string, scheme: string, id: string, rule: string]> = [
    ["norwegian-organisation-number-wrong-check-digit", "0192", "923609017", "PEPPOL-COMMON-R041"],
    ["swedish-organisation-number-wrong-check-digit", "0007", "5560360794", "PEPPOL-COMMON-R049"],
    ["australian-business-number-wrong-check-digits", "0151", "51824753557", "PEPPOL-COMMON-R050"],
    ["danish-se-number-without-dk", "0198", "12345678", "PEPPOL-COMMON-R053"],
  ];
  return endpoints.map(([name, scheme, id, rule]) => ({
    ...changed(reverse, name, (r) => (r.buyer!.electronicAddress = create(ElectronicAddressSchema, { scheme, id }))),
    rules: { peppolUbl: rule },
  }));
}

/** The gaps of XRechnung's and Peppol's profiles that the API lets through (platform/src/einvoice-profiles.ts names each). */
function profileSamples(standard: Sample, reverse: Sample): RejectedSample[] {
  const delivery = { street: "Lieferweg 1", city: "Bonn", postalCode: "", countryCode: "DE" };
  return [
    { ...changed(standard, "no-seller-postal-code", (r) => (r.seller!.address!.postalCode = "")), rules: german(4) },
    { ...changed(standard, "no-buyer-postal-code", (r) => (r.buyer!.address!.postalCode = "")), rules: german(9) },
    {
      ...changed(standard, "delivery-address-without-postal-code", (r) => (r.deliveryAddress = create(AddressSchema, delivery))),
      rules: german(11),
    },
    {
      ...changed(standard, "no-seller-electronic-address", (r) => (r.seller!.electronicAddress = undefined)),
      rules: { xrechnungUbl: "PEPPOL-EN16931-R020", xrechnungCii: "PEPPOL-EN16931-R020", peppolUbl: "PEPPOL-EN16931-R020" },
    },
    // Between a German seller and a French buyer only Peppol's own rules apply, not its DE-R ones.
    {
      ...changed(reverse, "no-buyer-or-order-reference", (r) => Object.assign(r, { buyerReference: "", orderReference: "" })),
      rules: { ...xrechnung("BR-DE-15"), peppolUbl: "PEPPOL-EN16931-R003" },
    },
    {
      ...changed(
        reverse,
        "e-mail-endpoint",
        (r) => (r.buyer!.electronicAddress = create(ElectronicAddressSchema, { scheme: "EM", id: "ap@exemple.example" })),
      ),
      rules: { peppolUbl: "PEPPOL-EN16931-CL008" },
    },
    {
      ...changed(
        reverse,
        "gln-with-wrong-check-digit",
        (r) => (r.buyer!.electronicAddress!.id = r.buyer!.electronicAddress!.id.replace(/\d$/, (d) => String((Number(d) + 1) % 10))),
      ),
      rules: { peppolUbl: "PEPPOL-COMMON-R040" },
    },
    ...wrongIdentifiers(reverse),
    {
      ...changed(reverse, "direct-debit-without-mandate", (r) => Object.assign(r.payment!, { meansCode: "59", iban: "", bic: "" })),
      rules: { ...xrechnung("BR-DE-25-a"), peppolUbl: "PEPPOL-EN16931-R061" },
    },
    {
      ...changed(reverse, "card-payment-without-card", (r) => Object.assign(r.payment!, { meansCode: "48", iban: "", bic: "" })),
      rules: xrechnung("BR-DE-24-a"),
    },
  ];
}
