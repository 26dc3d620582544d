// The one face of money wherever a person reads it (documents, the web app): int64 minor units as
// bigint, the currency's exponent from ISO 4217, Intl's currency format in a language the caller names.
import { minorUnitDigits } from "./currencies.ts";

/**
 * Formats minor units for their currency exactly, in `language`: 123456n EUR is "€1,234.56" in en-US,
 * 1234n JPY "¥1,234", 1005n KWD "KWD 1.005". The exponent is ISO 4217's (ICU gives HUF none).
 */
export function formatMoney(minor: bigint, currencyCode: string, language: string): string {
  const digits = minorUnitDigits(currencyCode);
  if (digits === undefined) throw new RangeError(`unknown currency ${currencyCode}`);
  const units = (minor < 0n ? -minor : minor).toString().padStart(digits + 1, "0");
  const whole = units.slice(0, units.length - digits);
  const decimal = `${minor < 0n ? "-" : ""}${whole}${digits > 0 ? `.${units.slice(-digits)}` : ""}`;
  const format = currencyFormat(language, currencyCode, digits);
  // A decimal string keeps every digit (Intl formats it exactly); a Number would round past 2^53.
  return format.format(decimal as Intl.StringNumericLiteral);
}

// Building an Intl.NumberFormat costs ~20 times what formatting with it does (a sixth of an invoice PDF's render
// went to building one per amount); the formats are immutable, so each is kept, a bounded number of them.
const formats = new Map<string, Intl.NumberFormat>();
const maxFormats = 1_000;

function currencyFormat(language: string, currencyCode: string, digits: number): Intl.NumberFormat {
  const key = `${language}\u0000${currencyCode}`;
  let format = formats.get(key);
  if (format === undefined) {
    if (formats.size >= maxFormats) formats.clear();
    format = new Intl.NumberFormat(language, {
      style: "currency",
      currency: currencyCode,
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
    formats.set(key, format);
  }
  return format;
}
