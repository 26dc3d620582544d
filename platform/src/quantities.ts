// The one rounding rule of amounts, shared by the server's pricing and the consumer's e-invoices.

/** BT-129 as the API accepts it: a positive decimal with up to 10 whole digits and up to 4 places. */
export const decimalQuantityPattern = /^(?:0|[1-9]\d{0,9})(?:\.\d{1,4})?$/;

/** Divides an integer by a positive divisor, rounding half away from zero. */
export function roundedDivision(value: bigint, divisor: bigint): bigint {
  const magnitude = value < 0n ? -value : value;
  const rounded = (magnitude + divisor / 2n) / divisor;
  return value < 0n ? -rounded : rounded;
}

/** A decimal quantity (BT-129) in ten-thousandths: "1.5" → 15000n. */
export function quantityTenThousandths(quantity: string): bigint {
  if (!/^\d{1,15}(\.\d{1,4})?$/.test(quantity)) throw new RangeError(`quantity ${quantity} is not a decimal with at most 4 places`);
  const [whole, fraction = ""] = quantity.split(".");
  return BigInt(whole!) * 10_000n + BigInt(fraction.padEnd(4, "0"));
}

/** BT-131 for a decimal quantity: quantity × price, rounded half away from zero to the minor unit, exactly. */
export function lineNetMinor(quantity: string, priceMinor: bigint): bigint {
  return roundedDivision(quantityTenThousandths(quantity) * priceMinor, 10_000n);
}

/** VAT of a taxable amount at a rate in basis points, rounded half away from zero. */
export const vatOf = (taxableMinor: bigint, rateBp: number) => roundedDivision(taxableMinor * BigInt(rateBp), 10_000n);
