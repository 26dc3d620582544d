/** The largest amount an int64 can hold; anything above it is an error, never a wrap. */
export const maxAmount = 2n ** 63n - 1n;

export interface LineAmounts {
  quantity: bigint;
  unitPriceMinor: bigint;
  vatRateBp: number;
}

export interface Pricing {
  netMinor: bigint[];
  vatBreakdown: { vatRateBp: number; taxableMinor: bigint; vatMinor: bigint }[];
  subtotalMinor: bigint;
  vatTotalMinor: bigint;
  totalMinor: bigint;
}

/** Thrown when an amount would not fit in int64; `field` names the request field to blame. */
export class AmountOverflowError extends Error {
  constructor(readonly field: string) {
    super(`${field}: amount exceeds ${maxAmount} minor units`);
  }
}

/**
 * Prices an invoice in integer minor units: net per line, then taxable amount and VAT per
 * rate (rounded half up once per rate), then totals.
 */
export function priceInvoice(lines: LineAmounts[]): Pricing {
  const checked = (value: bigint, field: string) => {
    if (value > maxAmount) throw new AmountOverflowError(field);
    return value;
  };
  const netMinor = lines.map((line, i) => checked(line.quantity * line.unitPriceMinor, `lines[${i}]`));
  const taxableByRate = new Map<number, bigint>();
  lines.forEach((line, i) => {
    const sum = (taxableByRate.get(line.vatRateBp) ?? 0n) + netMinor[i]!;
    taxableByRate.set(line.vatRateBp, checked(sum, "lines"));
  });
  const vatBreakdown = [...taxableByRate.entries()]
    .sort(([a], [b]) => a - b)
    .map(([vatRateBp, taxableMinor]) => ({
      vatRateBp,
      taxableMinor,
      vatMinor: (taxableMinor * BigInt(vatRateBp) + 5000n) / 10000n,
    }));
  const subtotalMinor = checked(
    netMinor.reduce((a, b) => a + b, 0n),
    "lines",
  );
  const vatTotalMinor = checked(
    vatBreakdown.reduce((a, b) => a + b.vatMinor, 0n),
    "lines",
  );
  const totalMinor = checked(subtotalMinor + vatTotalMinor, "lines");
  return { netMinor, vatBreakdown, subtotalMinor, vatTotalMinor, totalMinor };
}
