import { minorUnitDigits } from "@invoicer/platform/currencies";
import type { Line, Totals, VatBreakdown } from "./model.ts";

const quantityPattern = /^\d{1,15}(\.\d{1,4})?$/;

/** Divides an integer by a positive divisor, rounding half away from zero. */
const roundedDivision = (value: bigint, divisor: bigint) => {
  const magnitude = value < 0n ? -value : value;
  const rounded = (magnitude + divisor / 2n) / divisor;
  return value < 0n ? -rounded : rounded;
};

/** The decimal quantity (BT-129) in ten-thousandths: "1.5" → 15000n. */
export function quantityTenThousandths(quantity: string): bigint {
  if (!quantityPattern.test(quantity)) throw new RangeError(`quantity ${quantity} is not a decimal with at most 4 places`);
  const [whole, fraction = ""] = quantity.split(".");
  return BigInt(whole!) * 10_000n + BigInt(fraction.padEnd(4, "0"));
}

/** BT-131 for a decimal quantity: quantity × price, rounded half away from zero to the minor unit. */
export function lineNetMinor(quantity: string, priceMinor: bigint): bigint {
  return roundedDivision(quantityTenThousandths(quantity) * priceMinor, 10_000n);
}

/** VAT of a taxable amount, rounded half away from zero as the server's pricing does. */
export const vatOf = (taxableMinor: bigint, rateBp: number) => roundedDivision(taxableMinor * BigInt(rateBp), 10_000n);

/** BG-23: one entry per VAT category and rate, ordered by category then rate; BT-120/121 come from the group's first line. */
export function vatBreakdownOf(lines: Line[]): VatBreakdown[] {
  const groups = new Map<string, VatBreakdown>();
  for (const line of lines) {
    const key = `${line.vatCategory}:${line.vatRateBp}`;
    const group = groups.get(key) ?? {
      category: line.vatCategory,
      rateBp: line.vatRateBp,
      taxableMinor: 0n,
      vatMinor: 0n,
      exemptionReason: line.exemptionReason,
      exemptionReasonCode: line.exemptionReasonCode,
    };
    group.taxableMinor += line.netMinor;
    groups.set(key, group);
  }
  return [...groups.values()]
    .map((g) => ({ ...g, vatMinor: vatOf(g.taxableMinor, g.rateBp) }))
    .sort((a, b) => a.category.localeCompare(b.category) || a.rateBp - b.rateBp);
}

/** BG-22 from the lines and the breakdown (no document-level allowances, charges or prepayments). */
export function totalsOf(lines: Line[], breakdown: VatBreakdown[]): Totals {
  const lineNetMinor = lines.reduce((sum, l) => sum + l.netMinor, 0n);
  const vatMinor = breakdown.reduce((sum, b) => sum + b.vatMinor, 0n);
  const taxInclusiveMinor = lineNetMinor + vatMinor;
  return { lineNetMinor, taxExclusiveMinor: lineNetMinor, vatMinor, taxInclusiveMinor, payableMinor: taxInclusiveMinor };
}

/** EN 16931 allows at most 2 decimals in amounts, so currencies with 3 or 4 minor digits (KWD, CLF) cannot be written. */
export function amountDigits(currency: string): number {
  const digits = minorUnitDigits(currency);
  if (digits === undefined) throw new RangeError(`unknown currency ${currency}`);
  if (digits > 2) throw new RangeError(`${currency} has ${digits} minor digits; EN 16931 amounts have at most 2`);
  return digits;
}

/** An amount in minor units as the decimal an e-invoice writes: 123456n EUR → "1234.56". */
export function decimalAmount(minor: bigint, currency: string): string {
  const digits = amountDigits(currency);
  const abs = minor < 0n ? -minor : minor;
  const scale = 10n ** BigInt(digits);
  const fraction = digits > 0 ? "." + (abs % scale).toString().padStart(digits, "0") : "";
  return `${minor < 0n ? "-" : ""}${abs / scale}${fraction}`;
}

/** A rate in basis points as a percentage: 1900 → "19", 550 → "5.5", 5 → "0.05". */
export function decimalPercent(bp: number): string {
  const fraction = String(bp % 100)
    .padStart(2, "0")
    .replace(/0+$/, "");
  return `${Math.floor(bp / 100)}${fraction ? "." + fraction : ""}`;
}
