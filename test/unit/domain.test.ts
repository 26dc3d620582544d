import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { minorUnitDigits } from "@invoicer/platform/currencies";
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
      { vatRateBp: 550, taxableMinor: 250n, vatMinor: 14n }, // 13.75 -> 14
      { vatRateBp: 1900, taxableMinor: 1000n, vatMinor: 190n },
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
