/** Formats a VAT rate in basis points: 1900 → "19%", 750 → "7.5%", 5 → "0.05%". */
export function formatRate(bp: number): string {
  const sign = bp < 0 ? "-" : "";
  const abs = Math.abs(Math.trunc(bp));
  const fraction = String(abs % 100)
    .padStart(2, "0")
    .replace(/0+$/, "");
  return `${sign}${Math.floor(abs / 100)}${fraction ? "." + fraction : ""}%`;
}
