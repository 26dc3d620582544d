import { minorUnitDigits } from "@invoicer/platform/currencies";
import { vatOf } from "@invoicer/platform/quantities";
import type { Line, Totals, VatBreakdown } from "./model.ts";

export { lineNetMinor, quantityTenThousandths, vatOf } from "@invoicer/platform/quantities";

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
