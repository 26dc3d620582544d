// The web app's money: what a person types becomes exact minor units, and amounts show in their currency's digits.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatMoney as formatAmount } from "@invoicer/platform/money";
import { parseAmount, parseQuantity, parseVatRate } from "../../web/src/money.ts";

describe("web money", () => {
  it("formats minor units with the currency's ISO 4217 digits, exactly up to the int64 limit", () => {
    assert.equal(formatAmount(56_225n, "EUR", "en-US"), "€562.25");
    assert.equal(formatAmount(1_320n, "JPY", "en-US"), "¥1,320");
    assert.equal(formatAmount(1_005n, "KWD", "en-US"), "KWD\u00a01.005"); // Intl puts a no-break space after a code
    assert.equal(formatAmount(-5n, "EUR", "en-US"), "-€0.05");
    assert.equal(formatAmount(9_223_372_036_854_775_807n, "EUR", "en-US"), "€92,233,720,368,547,758.07");
  });

  it("parses typed amounts into minor units, refusing more decimals than the currency has", () => {
    assert.equal(parseAmount("150", "EUR"), 15_000n);
    assert.equal(parseAmount(" 12,5 ", "EUR"), 1_250n);
    assert.equal(parseAmount("1.005", "KWD"), 1_005n);
    assert.equal(parseAmount("1200", "JPY"), 1_200n);
    assert.equal(parseAmount("1.5", "JPY"), undefined);
    assert.equal(parseAmount("0.001", "EUR"), undefined);
    assert.equal(parseAmount("-1", "EUR"), undefined);
    assert.equal(parseAmount("92233720368547758.08", "EUR"), undefined, "over int64");
  });

  it("parses VAT percentages into basis points", () => {
    assert.equal(parseVatRate("19"), 1_900);
    assert.equal(parseVatRate("7.5"), 750);
    assert.equal(parseVatRate("5,5 %"), 550);
    assert.equal(parseVatRate("abc"), undefined);
  });

  it("parses whole quantities into quantity and up to 4 decimals into quantity_decimal (BT-129)", () => {
    assert.deepEqual(parseQuantity("3"), { quantity: 3n, quantityDecimal: "" });
    assert.deepEqual(parseQuantity("3.00"), { quantity: 3n, quantityDecimal: "" });
    assert.deepEqual(parseQuantity("1.5"), { quantity: 0n, quantityDecimal: "1.5" });
    assert.deepEqual(parseQuantity("007,25"), { quantity: 0n, quantityDecimal: "7.25" });
    assert.equal(parseQuantity("1.23456"), undefined);
    assert.equal(parseQuantity("-1"), undefined);
    assert.equal(parseQuantity("1e3"), undefined);
    assert.equal(parseQuantity("99999999999999999999"), undefined);
  });
});
