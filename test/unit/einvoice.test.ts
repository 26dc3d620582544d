// The EN 16931 writers (XRechnung UBL/CII, Peppol BIS UBL, Factur-X CII) on the e-invoice corpus: structure,
// amounts and rounding asserted here; validity is the validators' (einvoice/corpus.test.ts runs them through the validators).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clone } from "@bufbuild/protobuf";
import { InvoiceSchema, VatCategory } from "@invoicer/sdk";
import { DOMParser, type Element } from "@xmldom/xmldom";
import { decimalAmount, decimalPercent, lineNetMinor } from "../../consumer/src/render/einvoice/amounts.ts";
import { eInvoiceOf, eInvoiceWriters, type EInvoice } from "../../consumer/src/render/einvoice/index.ts";
import { escapeXml } from "../../consumer/src/render/einvoice/xml.ts";
import { validateCreateInvoice } from "../../server/src/domain/validate-invoice.ts";
import { allSamples, creditNoteSamples, invoiceSamples, rejectedSamples, type Sample } from "../support/einvoice-samples.ts";

/** Parses a document, failing on any well-formedness error or warning. */
const parse = (xml: string): Element =>
  new DOMParser({
    onError: (level, message) => {
      throw new Error(`${level}: ${message}`);
    },
  }).parseFromString(xml, "text/xml").documentElement!;
const children = (e: Element, name: string) =>
  Array.from(e.childNodes).filter((n): n is Element => n.nodeType === n.ELEMENT_NODE && n.nodeName === name);
const maybe = (e: Element, name: string): Element | undefined => children(e, name)[0];
const at = (e: Element, ...path: string[]): Element =>
  path.reduce((node, name) => maybe(node, name) ?? assert.fail(`no ${name} in ${node.nodeName}`), e);
const text = (e: Element | undefined) => e?.textContent ?? undefined;
const elementNames = (e: Element) => [
  ...new Set(Array.from(e.childNodes).flatMap((n) => (n.nodeType === n.ELEMENT_NODE ? [n.nodeName] : []))),
];

const sampleNamed = (name: string): Sample => allSamples().find((s) => s.name === name)!;
const modelOf = (s: Sample) => eInvoiceOf(s.invoice, s.extras);
const ublOf = (m: EInvoice) => parse(eInvoiceWriters.xrechnungUbl(m));
const ciiOf = (m: EInvoice) => parse(eInvoiceWriters.xrechnungCii(m));
const ciiSettlement = (m: EInvoice) => at(ciiOf(m), "rsm:SupplyChainTradeTransaction", "ram:ApplicableHeaderTradeSettlement");
const ublCategories = (doc: Element) => children(at(doc, "cac:TaxTotal"), "cac:TaxSubtotal").map((s) => at(s, "cac:TaxCategory"));

/** The UBL 2.1 Invoice/CreditNote sequences, restricted to the elements EN 16931 uses. */
const ublOrder = [
  "cbc:CustomizationID", "cbc:ProfileID", "cbc:ID", "cbc:IssueDate", "cbc:DueDate", "cbc:InvoiceTypeCode",
  "cbc:CreditNoteTypeCode", "cbc:Note", "cbc:DocumentCurrencyCode", "cbc:BuyerReference", "cac:OrderReference",
  "cac:BillingReference", "cac:AccountingSupplierParty", "cac:AccountingCustomerParty", "cac:Delivery",
  "cac:PaymentMeans", "cac:PaymentTerms", "cac:TaxTotal", "cac:LegalMonetaryTotal", "cac:InvoiceLine", "cac:CreditNoteLine",
]; // prettier-ignore
const ciiSettlementOrder = [
  "ram:PaymentReference", "ram:InvoiceCurrencyCode", "ram:SpecifiedTradeSettlementPaymentMeans", "ram:ApplicableTradeTax",
  "ram:SpecifiedTradePaymentTerms", "ram:SpecifiedTradeSettlementHeaderMonetarySummation", "ram:InvoiceReferencedDocument",
]; // prettier-ignore
const inSchemaOrder = (names: string[], order: string[]) =>
  names.every((name, i) => order.includes(name) && (i === 0 || order.indexOf(names[i - 1]!) < order.indexOf(name)));

describe("e-invoice amounts", () => {
  it("rounds a decimal quantity's line net half away from zero to the minor unit", () => {
    assert.equal(lineNetMinor("2.3333", 1_999n), 4_664n); // 4664.3667
    assert.equal(lineNetMinor("0.5", 1n), 1n); // exactly half a cent
    assert.equal(lineNetMinor("0.125", 333n), 42n); // 41.625
    assert.equal(lineNetMinor("1.5", 12_050n), 18_075n);
    assert.throws(() => lineNetMinor("1.23456", 100n), /at most 4 places/);
    assert.throws(() => lineNetMinor("-1", 100n), RangeError);
  });

  it("formats minor units exactly with the currency's digits, and refuses currencies EN 16931 cannot write", () => {
    assert.equal(decimalAmount(123_456n, "EUR"), "1234.56");
    assert.equal(decimalAmount(-5n, "EUR"), "-0.05");
    assert.equal(decimalAmount(9_007_199_254_740_993n, "EUR"), "90071992547409.93");
    assert.equal(decimalAmount(1_500_000n, "JPY"), "1500000");
    assert.throws(() => decimalAmount(1_000n, "KWD"), /at most 2/);
    assert.deepEqual([1900, 550, 5, 0].map(decimalPercent), ["19", "5.5", "0.05", "0"]);
  });
});

describe("e-invoice model from the proto Invoice", () => {
  it("reads an invoice from before categories and unit codes as S above 0 %, Z at 0 %, unit C62, with its own amounts", () => {
    const invoice = clone(InvoiceSchema, sampleNamed("standard-mixed-rates").invoice);
    for (const item of [...invoice.lines, ...invoice.vatBreakdown]) item.vatCategory = VatCategory.UNSPECIFIED;
    for (const line of invoice.lines) line.unitCode = "";
    const m = eInvoiceOf(invoice);
    assert.deepEqual(
      m.lines.map((l) => [l.vatCategory, l.unitCode, l.netMinor]),
      invoice.lines.map((l) => [l.vatRateBp > 0 ? "S" : "Z", "C62", l.netMinor]),
    );
    assert.deepEqual(
      m.vatBreakdown.map((b) => [b.rateBp, b.taxableMinor, b.vatMinor]).sort((a, b) => Number(a[0]) - Number(b[0])),
      invoice.vatBreakdown.map((b) => [b.vatRateBp, b.taxableMinor, b.vatMinor]),
    );
    assert.deepEqual(
      [m.totals.lineNetMinor, m.totals.vatMinor, m.totals.payableMinor],
      [invoice.subtotalMinor, invoice.vatTotalMinor, invoice.totalMinor],
    );
  });

  it("takes the server's nets of decimal quantities and its breakdown by category and rate", () => {
    const m = modelOf(sampleNamed("standard-mixed-rates"));
    assert.deepEqual(
      m.lines.map((l) => [l.quantity, l.netMinor]),
      [
        ["1.5", 18_075n],
        ["2.3333", 4_664n],
        ["3", 8_970n],
        ["0.5", 1n],
        ["1", 1_200n],
      ],
    );
    assert.deepEqual(
      m.vatBreakdown.map((b) => [b.category, b.rateBp, b.taxableMinor, b.vatMinor]),
      [
        ["S", 700, 8_971n, 628n],
        ["S", 1900, 22_739n, 4_320n],
        ["Z", 0, 1_200n, 0n],
      ],
    );
    assert.equal(m.totals.payableMinor, 8_971n + 22_739n + 1_200n + 628n + 4_320n);
    assert.equal(m.payment?.remittance, "101", "the remittance defaults to the invoice number");
  });
});

describe("the corpus against the API's rules", () => {
  it("is made of requests CreateInvoice accepts", () => {
    for (const s of allSamples()) assert.deepEqual(validateCreateInvoice(s.request), [], s.name);
  });

  it("has each EN 16931 gap a validator names refused by CreateInvoice with the same rule id; profile gaps are left to the formats", () => {
    for (const s of rejectedSamples()) {
      const rules = [...new Set(Object.values(s.rules))];
      const descriptions = validateCreateInvoice(s.request).map((v) => v.description);
      const en16931 = rules.filter((rule) => rule.startsWith("BR-") && !rule.startsWith("BR-DE-"));
      if (en16931.length === 0) assert.deepEqual(descriptions, [], `${s.name}: a profile rule (${rules.join(", ")}), not CreateInvoice's`);
      for (const rule of en16931)
        assert.ok(
          descriptions.some((d) => d.endsWith(`(${rule})`)),
          `${s.name}: ${rule} not in ${descriptions.join("; ")}`,
        );
    }
  });
});

describe("e-invoice writers", () => {
  it("write every sample in every format with the profile's identifiers and the schema's element order", () => {
    for (const s of allSamples()) {
      const m = modelOf(s);
      for (const format of ["xrechnungUbl", "peppolUbl"] as const) {
        const root = parse(eInvoiceWriters[format](m));
        assert.ok(inSchemaOrder(elementNames(root), ublOrder), `${s.name} ${format}: ${elementNames(root).join(", ")}`);
        assert.equal(text(maybe(root, "cbc:ID")), m.number);
        assert.match(
          text(maybe(root, "cbc:CustomizationID"))!,
          format === "peppolUbl" ? /peppol.eu:2017:poacc:billing:3.0$/ : /xrechnung_3.0$/,
        );
      }
      const settlement = ciiSettlement(m);
      assert.ok(inSchemaOrder(elementNames(settlement), ciiSettlementOrder), `${s.name}: ${elementNames(settlement).join(", ")}`);
      const facturX = parse(eInvoiceWriters.facturXCii(m));
      assert.equal(
        text(at(facturX, "rsm:ExchangedDocumentContext", "ram:GuidelineSpecifiedDocumentContextParameter", "ram:ID")),
        "urn:cen.eu:en16931:2017",
      );
    }
  });

  it("write amounts that add up: lines to the line total, breakdown to the VAT total, both to the amount due", () => {
    for (const s of allSamples()) {
      const m = modelOf(s);
      const cents = (v: string | undefined) => Math.round(Number(v) * 100);
      const doc = ublOf(m);
      const lines = [...children(doc, "cac:InvoiceLine"), ...children(doc, "cac:CreditNoteLine")];
      const lineSum = lines.reduce((sum, l) => sum + cents(text(maybe(l, "cbc:LineExtensionAmount"))), 0);
      const totals = at(doc, "cac:LegalMonetaryTotal");
      assert.equal(lineSum, cents(text(maybe(totals, "cbc:LineExtensionAmount"))), s.name);
      const vat = children(at(doc, "cac:TaxTotal"), "cac:TaxSubtotal").reduce((sum, t) => sum + cents(text(maybe(t, "cbc:TaxAmount"))), 0);
      assert.equal(vat, cents(text(at(doc, "cac:TaxTotal", "cbc:TaxAmount"))), s.name);
      assert.equal(lineSum + vat, cents(text(maybe(totals, "cbc:PayableAmount"))), s.name);
    }
  });

  it("write exemption reasons only where the category needs them (E, AE, K, G, O), every breakdown rate (BT-119), and no line rate for O", () => {
    const exemptCategories = new Set(["E", "AE", "K", "G", "O"]);
    for (const s of invoiceSamples()) {
      for (const category of ublCategories(ublOf(modelOf(s)))) {
        const id = text(maybe(category, "cbc:ID"))!;
        assert.equal(!!text(maybe(category, "cbc:TaxExemptionReason")), exemptCategories.has(id), `${s.name} ${id}`);
        assert.ok(maybe(category, "cbc:Percent"), `${s.name} ${id}: BT-119 (BR-DE-14)`);
      }
      for (const line of children(ublOf(modelOf(s)), "cac:InvoiceLine")) {
        const category = at(line, "cac:Item", "cac:ClassifiedTaxCategory");
        const id = text(maybe(category, "cbc:ID"));
        assert.equal(maybe(category, "cbc:Percent") === undefined, id === "O", `${s.name} ${id}: BT-152 (BR-O-05)`);
      }
    }
    const exempt = ublCategories(ublOf(modelOf(sampleNamed("exempt")))).map((c) => [
      text(maybe(c, "cbc:ID")),
      text(maybe(c, "cbc:TaxExemptionReasonCode")),
    ]);
    assert.deepEqual(exempt, [
      ["E", "VATEX-EU-132-1C"],
      ["S", undefined],
    ]);
  });

  it("write reverse charge with both VAT ids, and an intra-community supply with its delivery date and country", () => {
    const reverse = ublOf(modelOf(sampleNamed("reverse-charge")));
    assert.equal(text(at(reverse, "cac:AccountingCustomerParty", "cac:Party", "cac:PartyTaxScheme", "cbc:CompanyID")), "FR40303265045");
    assert.equal(text(maybe(ublCategories(reverse)[0]!, "cbc:TaxExemptionReasonCode")), "VATEX-EU-AE");
    const intra = ublOf(modelOf(sampleNamed("intra-community")));
    assert.equal(text(at(intra, "cac:Delivery", "cbc:ActualDeliveryDate")), "2026-11-30");
    assert.equal(text(at(intra, "cac:Delivery", "cac:DeliveryLocation", "cac:Address", "cac:Country", "cbc:IdentificationCode")), "AT");
    const ciiDelivery = at(
      ciiOf(modelOf(sampleNamed("intra-community"))),
      "rsm:SupplyChainTradeTransaction",
      "ram:ApplicableHeaderTradeDelivery",
    );
    assert.equal(text(at(ciiDelivery, "ram:ShipToTradeParty", "ram:PostalTradeAddress", "ram:CountryID")), "AT");
  });

  it("write a not-subject invoice without any VAT id, and buyers outside the EU without one", () => {
    const notSubject = ublOf(modelOf(sampleNamed("not-subject")));
    for (const party of ["cac:AccountingSupplierParty", "cac:AccountingCustomerParty"]) {
      assert.equal(maybe(at(notSubject, party, "cac:Party"), "cac:PartyTaxScheme"), undefined, party);
    }
    for (const name of ["export-outside-eu", "buyer-outside-eu-jpy"]) {
      const buyer = at(ublOf(modelOf(sampleNamed(name))), "cac:AccountingCustomerParty", "cac:Party");
      assert.notEqual(text(at(buyer, "cac:PostalAddress", "cac:Country", "cbc:IdentificationCode")), "DE");
      assert.equal(maybe(buyer, "cac:PartyTaxScheme"), undefined);
    }
    const yen = at(ublOf(modelOf(sampleNamed("buyer-outside-eu-jpy"))), "cac:LegalMonetaryTotal", "cbc:PayableAmount");
    assert.deepEqual([yen.getAttribute("currencyID"), text(yen)], ["JPY", "1500000"]);
  });

  it("write 100 lines of Greek, Cyrillic, Georgian and Armenian text that parse back unchanged", () => {
    const s = sampleNamed("hundred-lines-non-latin");
    const m = modelOf(s);
    const lines = children(ublOf(m), "cac:InvoiceLine");
    assert.equal(lines.length, 100);
    assert.deepEqual(
      lines.map((l) => text(at(l, "cac:Item", "cbc:Name"))),
      s.invoice.lines.map((l) => l.description),
    );
    const ciiNames = children(at(ciiOf(m), "rsm:SupplyChainTradeTransaction"), "ram:IncludedSupplyChainTradeLineItem").map((l) =>
      text(at(l, "ram:SpecifiedTradeProduct", "ram:Name")),
    );
    assert.deepEqual(
      ciiNames,
      s.invoice.lines.map((l) => l.description),
    );
    assert.equal(
      text(at(ublOf(m), "cac:AccountingCustomerParty", "cac:Party", "cac:PartyLegalEntity", "cbc:RegistrationName")),
      s.invoice.buyer?.name,
    );
  });

  it("escape markup in text so that it is data, not elements", () => {
    const s = sampleNamed("exempt");
    s.invoice.lines[0]!.description = `<cbc:Note>&amp; "quoted" 'apostrophe' ]]></cbc:Note>`;
    const xml = eInvoiceWriters.peppolUbl(modelOf(s));
    assert.equal(text(at(parse(xml), "cac:InvoiceLine", "cac:Item", "cbc:Name")), s.invoice.lines[0]!.description);
    assert.ok(!xml.includes("<cbc:Note>&amp;"));
    const exported = sampleNamed("export-outside-eu");
    const buyer = at(ublOf(modelOf(exported)), "cac:AccountingCustomerParty", "cac:Party", "cac:PartyLegalEntity", "cbc:RegistrationName");
    assert.equal(text(buyer), `Example & Sons "Intl." <US>`);
    assert.equal(text(at(ciiOf(modelOf(exported)), "rsm:ExchangedDocument", "ram:IncludedNote", "ram:Content")), exported.invoice.note);
  });

  it("refuses characters XML 1.0 cannot hold instead of writing a document no parser reads", () => {
    assert.throws(() => escapeXml("bell \u0007"), /U\+0007 cannot be written/);
    assert.throws(() => escapeXml("lone \uD800 surrogate"), /U\+D800/);
    assert.equal(escapeXml("tab\tline\r\n😀"), "tab\tline&#13;\n😀");
    assert.equal(escapeXml('a&b "c"\t', true), "a&amp;b &quot;c&quot;&#9;");
  });

  it("write credit notes as UBL CreditNote and CII 381 referencing the credited invoice (BG-3)", () => {
    const [invoice] = invoiceSamples();
    const [full, partial] = creditNoteSamples().map(modelOf);
    for (const note of [full!, partial!]) {
      const doc = ublOf(note);
      assert.equal(text(maybe(doc, "cbc:CreditNoteTypeCode")), "381");
      assert.equal(maybe(doc, "cac:InvoiceLine"), undefined);
      assert.ok(children(doc, "cac:CreditNoteLine").every((l) => maybe(l, "cbc:CreditedQuantity") !== undefined));
      assert.equal(text(at(doc, "cac:BillingReference", "cac:InvoiceDocumentReference", "cbc:ID")), "101");
      assert.equal(text(at(doc, "cac:PaymentMeans", "cbc:PaymentDueDate")), "2026-12-31", "a credit note's BT-9");
      const cii = ciiOf(note);
      assert.equal(text(at(cii, "rsm:ExchangedDocument", "ram:TypeCode")), "381");
      assert.equal(text(at(ciiSettlement(note), "ram:InvoiceReferencedDocument", "ram:IssuerAssignedID")), "101");
    }
    assert.equal(full!.totals.payableMinor, modelOf(invoice!).totals.payableMinor, "a full credit note credits everything");
    assert.equal(partial!.totals.payableMinor, 6_025n + 2_990n + 1_145n + 209n);
  });
});
