import { VatCategory } from "@invoicer/sdk";

/** BT-151/BT-118 codes (UNTDID 5305, EN 16931's subset), as stored. */
export type VatCategoryCode = "S" | "Z" | "E" | "AE" | "K" | "G" | "O";

const codes: Record<Exclude<VatCategory, VatCategory.UNSPECIFIED>, VatCategoryCode> = {
  [VatCategory.STANDARD]: "S",
  [VatCategory.ZERO_RATED]: "Z",
  [VatCategory.EXEMPT]: "E",
  [VatCategory.REVERSE_CHARGE]: "AE",
  [VatCategory.INTRA_COMMUNITY]: "K",
  [VatCategory.EXPORT]: "G",
  [VatCategory.NOT_SUBJECT]: "O",
};
const byCode = new Map(Object.entries(codes).map(([value, code]) => [code, Number(value) as VatCategory]));

/** Unspecified means what invoices meant before categories: standard above 0 %, zero rated at 0 %. */
export const defaultVatCategory = (vatRateBp: number): VatCategoryCode => (vatRateBp > 0 ? "S" : "Z");

/** The code of a request's category, undefined for a value this API does not know. */
export function vatCategoryCode(category: VatCategory, vatRateBp: number): VatCategoryCode | undefined {
  return category === VatCategory.UNSPECIFIED ? defaultVatCategory(vatRateBp) : codes[category];
}

export const vatCategoryToProto = (code: VatCategoryCode): VatCategory => byCode.get(code)!;

/** The categories whose rate is 0 and which need an exemption reason (BT-120 or BT-121): their rule ids' prefix. */
export const exemptCategoryRules: Partial<Record<VatCategoryCode, string>> = { E: "BR-E", AE: "BR-AE", K: "BR-IC", G: "BR-G", O: "BR-O" };
