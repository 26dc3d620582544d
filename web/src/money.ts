// Amounts a person types in the browser: int64 minor units as bigint, exponents from ISO 4217 (platform), no floating point.
// Shown with formatMoney from @invoicer/platform/money, as the documents show them.
import { minorUnitDigits } from "@invoicer/platform/currencies";

const digitsOf = (currencyCode: string) => minorUnitDigits(currencyCode) ?? 2;
const int64Max = 2n ** 63n - 1n;
const int64 = (value: bigint) => (value <= int64Max ? value : undefined);

/** Parses an amount a person typed ("150", "150.5", "150,50") into minor units; undefined if it is not one. */
export function parseAmount(text: string, currencyCode: string): bigint | undefined {
  const digits = digitsOf(currencyCode);
  const match = /^(\d{1,19})(?:[.,](\d*))?$/.exec(text.trim());
  if (!match || (match[2] ?? "").length > digits) return undefined;
  return int64(BigInt(match[1]! + (match[2] ?? "").padEnd(digits, "0")));
}

/** Parses a VAT rate in percent ("19", "7.5", "5,5 %") into basis points; undefined if it is not one. */
export function parseVatRate(text: string): number | undefined {
  const match = /^(\d{1,3})(?:[.,](\d{0,2}))?\s*%?$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * 100 + Number((match[2] ?? "").padEnd(2, "0"));
}

/**
 * A quantity as the request carries it: whole units as `quantity`, or BT-129 with up to 4 decimals
 * ("1.5", "0,25") as `quantity_decimal`; undefined if it is neither.
 */
export function parseQuantity(text: string): { quantity: bigint; quantityDecimal: string } | undefined {
  const match = /^(\d{1,19})(?:[.,](\d{1,4}))?$/.exec(text.trim());
  if (!match) return undefined;
  if (match[2] === undefined || /^0+$/.test(match[2])) {
    const quantity = int64(BigInt(match[1]!));
    return quantity === undefined ? undefined : { quantity, quantityDecimal: "" };
  }
  return { quantity: 0n, quantityDecimal: `${BigInt(match[1]!)}.${match[2]}` };
}
