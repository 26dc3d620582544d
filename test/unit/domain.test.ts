import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { minorUnitDigits } from "@invoicer/platform/currencies";
import { create } from "@bufbuild/protobuf";
import { ContactSchema, ElectronicAddressSchema, VatCategory, type CreateInvoiceRequest, type LineInput } from "@invoicer/sdk";
import { lineNetMinor } from "@invoicer/platform/quantities";
import { AmountOverflowError, maxAmount, priceInvoice } from "../../server/src/domain/pricing.ts";
import { validateCreateInvoice } from "../../server/src/domain/validate-invoice.ts";
import { sampleInvoice } from "@invoicer/devstack/samples";

describe("pricing", () => {
  it("computes line nets, VAT per rate rounded half up, and totals in integers", () => {
    const p = priceInvoice([
      { quantity: 3n, unitPriceMinor: 333n, vatRateBp: 1900 },
      { quantity: 1n, unitPriceMinor: 1n, vatRateBp: 1900 },
      { quantity: 1n, unitPriceMinor: 250n, vatRateBp: 550 },
    ]);
    assert.deepEqual(p.netMinor, [999n, 1n, 250n]);
    assert.deepEqual(p.vatBreakdown, [
      { vatCategory: "S", vatRateBp: 550, taxableMinor: 250n, vatMinor: 14n }, // 13.75 -> 14
      { vatCategory: "S", vatRateBp: 1900, taxableMinor: 1000n, vatMinor: 190n },
    ]);
    assert.equal(p.subtotalMinor, 1250n);
    assert.equal(p.vatTotalMinor, 204n);
    assert.equal(p.totalMinor, 1454n);
  });

  it("rounds exactly half up", () => {
    const p = priceInvoice([{ quantity: 1n, unitPriceMinor: 50n, vatRateBp: 1000 }]); // 5.0
    assert.equal(p.vatBreakdown[0]!.vatMinor, 5n);
    const q = priceInvoice([{ quantity: 1n, unitPriceMinor: 25n, vatRateBp: 1000 }]); // 2.5 -> 3
    assert.equal(q.vatBreakdown[0]!.vatMinor, 3n);
  });

  it("accepts the largest amount and rejects one more, naming the line or the sum", () => {
    assert.equal(priceInvoice([{ quantity: 1n, unitPriceMinor: maxAmount, vatRateBp: 0 }]).totalMinor, maxAmount);
    assert.throws(
      () => priceInvoice([{ quantity: 2n, unitPriceMinor: maxAmount / 2n + 1n, vatRateBp: 0 }]),
      (err: unknown) => err instanceof AmountOverflowError && err.field === "lines[0]",
    );
    assert.throws(
      () =>
        priceInvoice([
          { quantity: 1n, unitPriceMinor: maxAmount, vatRateBp: 0 },
          { quantity: 1n, unitPriceMinor: 1n, vatRateBp: 0 },
        ]),
      (err: unknown) => err instanceof AmountOverflowError && err.field === "lines",
    );
    assert.throws(
      () => priceInvoice([{ quantity: 1n, unitPriceMinor: maxAmount, vatRateBp: 1 }]),
      (err: unknown) => err instanceof AmountOverflowError && err.field === "lines",
    );
  });
});

describe("pricing EN 16931 lines", () => {
  it("rounds a decimal quantity's net half away from zero to the minor unit, as the e-invoice does", () => {
    const lines = [
      { quantity: 0n, quantityDecimal: "1.5", unitPriceMinor: 3_333n, vatRateBp: 1900 }, // 4999.5 -> 5000
      { quantity: 0n, quantityDecimal: "0.0001", unitPriceMinor: 4_999n, vatRateBp: 1900 }, // 0.4999 -> 0
      { quantity: 0n, quantityDecimal: "2.3333", unitPriceMinor: 3n, vatRateBp: 1900 }, // 6.9999 -> 7
      { quantity: 0n, quantityDecimal: "0.5", unitPriceMinor: 1n, vatRateBp: 1900 }, // 0.5 -> 1
    ];
    const p = priceInvoice(lines);
    assert.deepEqual(p.netMinor, [5_000n, 0n, 7n, 1n]);
    assert.deepEqual(
      p.netMinor,
      lines.map((l) => lineNetMinor(l.quantityDecimal, l.unitPriceMinor)),
    );
  });

  it("keys the VAT breakdown by category and rate, ordered by rate then category", () => {
    const p = priceInvoice([
      { quantity: 1n, unitPriceMinor: 1_000n, vatRateBp: 1900 },
      { quantity: 1n, unitPriceMinor: 300n, vatRateBp: 0, vatCategory: "E" },
      { quantity: 1n, unitPriceMinor: 200n, vatRateBp: 0 },
      { quantity: 2n, unitPriceMinor: 100n, vatRateBp: 0, vatCategory: "E" },
    ]);
    assert.deepEqual(
      p.vatBreakdown.map((b) => [b.vatCategory, b.vatRateBp, b.taxableMinor, b.vatMinor]),
      [
        ["E", 0, 500n, 0n],
        ["Z", 0, 200n, 0n],
        ["S", 1900, 1_000n, 190n],
      ],
    );
  });
});

/** The refusals of a request as "field: description". */
const refusals = (req: CreateInvoiceRequest) => validateCreateInvoice(req).map((v) => `${v.field}: ${v.description}`);

/** A request whose first line is changed; the rest of sampleInvoice is valid. */
function withLine(line: Partial<LineInput>, overrides: Parameters<typeof sampleInvoice>[0] = {}) {
  const req = sampleInvoice(overrides);
  Object.assign(req.lines[0]!, line);
  return req;
}

describe("EN 16931 fields of a new invoice", () => {
  it("accepts every field filled in as EN 16931 wants it", () => {
    const req = sampleInvoice({
      buyerReference: "04011000-12345-03",
      orderReference: "PO-4711",
      payment: { meansCode: "58", iban: "DE89370400440532013000", bic: "COBADEFFXXX", terms: "30 days net" },
      deliveryAddress: { street: "Lager 3", city: "Potsdam", countryCode: "DE" },
    });
    req.seller!.electronicAddress = create(ElectronicAddressSchema, { scheme: "9930", id: "DE123456789" });
    req.seller!.contact = create(ContactSchema, { name: "Erika Mustermann", phone: "+49 30 1234567", email: "billing@acme.example" });
    req.seller!.legalRegistrationId = "HRB 123456 B";
    Object.assign(req.lines[0]!, { quantity: 0n, quantityDecimal: "1.5", unitCode: "HUR" });
    Object.assign(req.lines[1]!, { vatRateBp: 0, vatCategory: VatCategory.EXEMPT, vatExemptionReasonCode: "VATEX-EU-132-1I" });
    assert.deepEqual(refusals(req), []);
  });

  it("refuses an IBAN whose checksum fails, and a credit transfer without one (BR-61)", () => {
    assert.deepEqual(refusals(sampleInvoice({ payment: { meansCode: "58", iban: "DE89370400440532013001" } })), [
      "payment.iban: must be an IBAN with a valid checksum, upper case without spaces",
    ]);
    assert.deepEqual(refusals(sampleInvoice({ payment: { meansCode: "30" } })), ["payment.iban: is required for means code 30 (BR-61)"]);
    assert.match(
      refusals(sampleInvoice({ payment: { meansCode: "99", bic: "NOTABIC" } })).join("\n"),
      /payment.means_code: .*BR-CL-16[\s\S]*payment.bic/,
    );
  });

  it("refuses an unknown EAS scheme (BR-CL-25) and an electronic address without its scheme (BR-63)", () => {
    const unknown = sampleInvoice();
    unknown.seller!.electronicAddress = create(ElectronicAddressSchema, { scheme: "1234", id: "x" });
    assert.deepEqual(refusals(unknown), [
      "seller.electronic_address.scheme: must be a code of the EAS list, such as 9930 or 0204 (BR-CL-25)",
    ]);
    const noScheme = sampleInvoice();
    noScheme.buyer!.electronicAddress = create(ElectronicAddressSchema, { id: "buyer@example.com" });
    assert.deepEqual(refusals(noScheme), ["buyer.electronic_address.scheme: is required with an electronic address (BR-63)"]);
  });

  it("refuses an unknown VATEX code (BR-CL-22) and a unit code of another shape (BR-CL-23)", () => {
    const req = withLine({ vatRateBp: 0, vatCategory: VatCategory.EXEMPT, vatExemptionReasonCode: "VATEX-EU-999", unitCode: "hours" });
    assert.deepEqual(
      refusals(req).map((r) => r.split(":")[0]),
      ["lines[0].unit_code", "lines[0].vat_exemption_reason_code"],
    );
    assert.match(refusals(req).join("\n"), /BR-CL-23[\s\S]*BR-CL-22/);
  });

  it("refuses a decimal quantity with 5 places, one that is no number, and one alongside a whole quantity", () => {
    for (const quantityDecimal of ["1.23456", "abc", "1e3", "-1", "0", "1.", ".5"]) {
      assert.deepEqual(
        refusals(withLine({ quantity: 0n, quantityDecimal })).map((r) => r.split(":")[0]),
        ["lines[0].quantity_decimal"],
        quantityDecimal,
      );
    }
    assert.deepEqual(refusals(withLine({ quantityDecimal: "1.5" })), ["lines[0].quantity: must be 0 when quantity_decimal is set"]);
  });

  it("refuses E, AE, K, G and O without an exemption reason, each with its rule id", () => {
    const cases = [
      [VatCategory.EXEMPT, "BR-E-10"],
      [VatCategory.REVERSE_CHARGE, "BR-AE-10"],
      [VatCategory.INTRA_COMMUNITY, "BR-IC-10"],
      [VatCategory.EXPORT, "BR-G-10"],
      [VatCategory.NOT_SUBJECT, "BR-O-10"],
    ] as const;
    for (const [vatCategory, rule] of cases) {
      const found = refusals(withLine({ vatRateBp: 0, vatCategory })).filter((r) => r.startsWith("lines[0].vat_exemption_reason:"));
      assert.equal(found.length, 1, rule);
      assert.ok(found[0]!.endsWith(`(${rule})`), found[0]);
    }
  });

  it("refuses a rate other than 0 for the exempt categories (BR-x-05), 0 for standard (BR-S-05), and a reason for S or Z", () => {
    const exempt = refusals(withLine({ vatCategory: VatCategory.REVERSE_CHARGE, vatExemptionReasonCode: "VATEX-EU-AE" }));
    assert.deepEqual(exempt, ["lines[0].vat_rate_bp: must be 0 for category AE (BR-AE-05)"]);
    assert.deepEqual(refusals(withLine({ vatCategory: VatCategory.STANDARD, vatRateBp: 0 })), [
      "lines[0].vat_rate_bp: must be above 0 for the standard rate (BR-S-05)",
    ]);
    assert.deepEqual(refusals(withLine({ vatExemptionReason: "why not" })), [
      "lines[0].vat_exemption_reason: must be empty for category S, as must vat_exemption_reason_code (BR-S-10)",
    ]);
  });

  it("refuses reverse charge without the buyer's VAT id (BR-AE-02), and VAT ids or other categories with O (BR-O-02, BR-O-11)", () => {
    const reverse = withLine({ vatRateBp: 0, vatCategory: VatCategory.REVERSE_CHARGE, vatExemptionReasonCode: "VATEX-EU-AE" });
    reverse.buyer!.vatId = "";
    assert.deepEqual(refusals(reverse), ["buyer.vat_id: is required for reverse charge (BR-AE-02)"]);
    const notSubject = withLine({ vatRateBp: 0, vatCategory: VatCategory.NOT_SUBJECT, vatExemptionReason: "Not subject to VAT" });
    assert.deepEqual(refusals(notSubject), [
      "lines: must all be VAT_CATEGORY_NOT_SUBJECT when one is (BR-O-11)",
      "seller.vat_id: must be empty when not subject to VAT (BR-O-02)",
      "buyer.vat_id: must be empty when not subject to VAT (BR-O-02)",
    ]);
    notSubject.lines.splice(1);
    notSubject.seller!.vatId = "";
    notSubject.buyer!.vatId = "";
    assert.deepEqual(refusals(notSubject), []);
  });
});

describe("currencies", () => {
  it("knows the minor unit digits of ISO 4217 codes", () => {
    assert.equal(minorUnitDigits("EUR"), 2);
    assert.equal(minorUnitDigits("JPY"), 0);
    assert.equal(minorUnitDigits("KWD"), 3);
    assert.equal(minorUnitDigits("CLF"), 4);
    assert.equal(minorUnitDigits("XXX"), undefined);
    assert.equal(minorUnitDigits("eur"), undefined);
    assert.equal(minorUnitDigits("constructor"), undefined);
  });
});

describe("text fields", () => {
  // Only JSON can carry an unpaired surrogate ("\ud800"); protobuf binary carries UTF-8, which cannot.
  it("refuse unpaired surrogates and accept paired ones", () => {
    const lone = sampleInvoice();
    lone.buyer!.name = "Globex \uD800";
    lone.lines[0]!.description = "\uDC00 widget";
    assert.deepEqual(
      validateCreateInvoice(lone).map((v) => v.field),
      ["buyer.name", "lines[0].description"],
    );
    const paired = sampleInvoice();
    paired.buyer!.name = "Globex \uD83D\uDE00";
    assert.deepEqual(validateCreateInvoice(paired), []);
  });
});
