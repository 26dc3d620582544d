import { lineNetMinor, vatOf } from "@invoicer/platform/quantities";
import { defaultVatCategory, type VatCategoryCode } from "@invoicer/platform/vat-categories";

/** The largest amount an int64 can hold; anything above it is an error, never a wrap. */
export const maxAmount = 2n ** 63n - 1n;

export interface LineAmounts {
  /** Whole units; ignored when quantityDecimal is set. */
  quantity: bigint;
  /** BT-129 as a decimal string ("1.5"), or "" for a whole-unit quantity. */
  quantityDecimal?: string;
  unitPriceMinor: bigint;
  vatRateBp: number;
  /** BT-151; S above 0 % and Z at 0 % when absent. */
  vatCategory?: VatCategoryCode;
}

/** BG-23: one per VAT category (BT-118) and rate (BT-119). */
export interface VatBreakdownAmounts {
  vatCategory: VatCategoryCode;
  vatRateBp: number;
  taxableMinor: bigint;
  vatMinor: bigint;
}

export interface Pricing {
  netMinor: bigint[];
  vatBreakdown: VatBreakdownAmounts[];
  subtotalMinor: bigint;
  vatTotalMinor: bigint;
  totalMinor: bigint;
}

/** Thrown when an amount would not fit in int64; `field` names the request field to blame. */
export class AmountOverflowError extends Error {
  readonly field: string;
  constructor(field: string) {
    super(`${field}: amount exceeds ${maxAmount} minor units`);
    this.field = field;
  }
}

const checked = (value: bigint, field: string) => {
  if (value > maxAmount) throw new AmountOverflowError(field);
  return value;
};

/** BT-131: quantity × price; a decimal quantity's net rounds half away from zero to the minor unit (platform/quantities). */
const lineNet = (line: LineAmounts) =>
  line.quantityDecimal ? lineNetMinor(line.quantityDecimal, line.unitPriceMinor) : line.quantity * line.unitPriceMinor;

/** BG-23 ordered by rate, then category; the VAT of each group is rounded once, half away from zero. */
function vatBreakdownOf(lines: LineAmounts[], netMinor: bigint[]): VatBreakdownAmounts[] {
  const groups = new Map<string, VatBreakdownAmounts>();
  lines.forEach((line, i) => {
    const vatCategory = line.vatCategory ?? defaultVatCategory(line.vatRateBp);
    const key = `${line.vatRateBp}:${vatCategory}`;
    const group = groups.get(key) ?? { vatCategory, vatRateBp: line.vatRateBp, taxableMinor: 0n, vatMinor: 0n };
    group.taxableMinor = checked(group.taxableMinor + netMinor[i]!, "lines");
    groups.set(key, group);
  });
  return [...groups.values()]
    .sort((a, b) => a.vatRateBp - b.vatRateBp || a.vatCategory.localeCompare(b.vatCategory))
    .map((g) => ({ ...g, vatMinor: vatOf(g.taxableMinor, g.vatRateBp) }));
}

/**
 * Prices an invoice in integer minor units: net per line, then taxable amount and VAT per
 * category and rate (rounded half away from zero once per group), then totals.
 */
export function priceInvoice(lines: LineAmounts[]): Pricing {
  const netMinor = lines.map((line, i) => checked(lineNet(line), `lines[${i}]`));
  const vatBreakdown = vatBreakdownOf(lines, netMinor);
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
