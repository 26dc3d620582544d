import { minorUnitDigits } from "@invoicer/platform/currencies";

const grouping = new Intl.NumberFormat("en-US", { useGrouping: true });

/** Formats an amount in minor units exactly, as "-1,234,567.89 EUR" (no floating point involved). */
export function formatMoney(minor: bigint, currency: string): string {
  const digits = minorUnitDigits(currency);
  if (digits === undefined) throw new RangeError(`unknown currency ${currency}`);
  const abs = minor < 0n ? -minor : minor;
  const scale = 10n ** BigInt(digits);
  const whole = grouping.format(abs / scale); // Intl formats bigint exactly
  const fraction = digits > 0 ? "." + (abs % scale).toString().padStart(digits, "0") : "";
  return `${minor < 0n ? "-" : ""}${whole}${fraction} ${currency}`;
}

/** Formats a VAT rate in basis points: 1900 → "19%", 750 → "7.5%", 5 → "0.05%". */
export function formatRate(bp: number): string {
  const sign = bp < 0 ? "-" : "";
  const abs = Math.abs(Math.trunc(bp));
  const fraction = String(abs % 100)
    .padStart(2, "0")
    .replace(/0+$/, "");
  return `${sign}${Math.floor(abs / 100)}${fraction ? "." + fraction : ""}%`;
}
