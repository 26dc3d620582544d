// An EN 16931 invoice or credit note, the one model every e-invoice writer (UBL, CII) reads.
// Each field is named by its business term; the doc comment gives the BT/BG id of EN 16931-1.
// Money is an integer in minor units of the invoice currency (BT-5); writers format it as decimals.

/** BT-3: 380 commercial invoice, 381 credit note (UNTDID 1001). */
export type DocumentTypeCode = "380" | "381";

/** BT-151/BT-118 (UNTDID 5305 subset): S standard, Z zero rated, E exempt, AE reverse charge, K intra-community, G export, O not subject. */
export type VatCategory = "S" | "Z" | "E" | "AE" | "K" | "G" | "O";

/** BT-34/BT-49: an electronic address with its EAS scheme (EM e-mail, 0204 Leitweg-ID, 9930 DE VAT, 0088 GLN, ...). */
export interface ElectronicAddress {
  scheme: string;
  id: string;
}

/** BG-5/BG-8/BG-15. */
export interface PostalAddress {
  /** BT-35/BT-50/BT-75 address line 1. */
  street?: string;
  /** BT-37/BT-52/BT-77. */
  city?: string;
  /** BT-38/BT-53/BT-78. */
  postalCode?: string;
  /** BT-40/BT-55/BT-80, ISO 3166-1 alpha-2. */
  countryCode: string;
}

/** BG-6/BG-9. */
export interface Contact {
  /** BT-41/BT-56. */
  name?: string;
  /** BT-42/BT-57. */
  phone?: string;
  /** BT-43/BT-58. */
  email?: string;
}

/** BG-4 seller or BG-7 buyer. */
export interface Party {
  /** BT-27/BT-44. */
  name: string;
  /** BT-30/BT-47 legal registration identifier (for example a commercial register number). */
  legalRegistrationId?: string;
  /** BT-31/BT-48 VAT identifier with its country prefix. */
  vatId?: string;
  /** BT-34/BT-49. */
  electronicAddress?: ElectronicAddress;
  /** BG-5/BG-8. */
  address: PostalAddress;
  /** BG-6/BG-9. */
  contact?: Contact;
}

/** BG-13 delivery information. */
export interface Delivery {
  /** BT-70 deliver-to party name. */
  partyName?: string;
  /** BT-72 actual delivery date, YYYY-MM-DD. */
  date?: string;
  /** BG-15 deliver-to address. */
  address?: PostalAddress;
}

/** BG-16 payment instructions. */
export interface Payment {
  /** BT-81 (UNTDID 4461): 58 SEPA credit transfer, 30 credit transfer, 59 SEPA direct debit. */
  meansCode: string;
  /** BT-83 remittance information. */
  remittance?: string;
  /** BT-84 payment account (IBAN). */
  iban?: string;
  /** BT-86 payment service provider (BIC). */
  bic?: string;
}

/** BG-3 preceding invoice reference. */
export interface PrecedingInvoice {
  /** BT-25. */
  number: string;
  /** BT-26, YYYY-MM-DD. */
  issueDate?: string;
}

/** BG-25 invoice line. */
export interface Line {
  /** BT-126. */
  id: string;
  /** BT-129 invoiced quantity: a decimal with up to 4 places, as written ("1.5"). */
  quantity: string;
  /** BT-130 (UN/ECE Rec 20/21), C62 "one" by default. */
  unitCode: string;
  /** BT-131 line net amount: quantity × price, rounded half away from zero to the minor unit. */
  netMinor: bigint;
  /** BT-146 item net price. */
  priceMinor: bigint;
  /** BT-151. */
  vatCategory: VatCategory;
  /** BT-152 in basis points (1900 is 19 %). */
  vatRateBp: number;
  /** BT-153. */
  itemName: string;
  /** BT-120 of this line's category (carried to the breakdown). */
  exemptionReason?: string;
  /** BT-121 (VATEX code) of this line's category. */
  exemptionReasonCode?: string;
}

/** BG-23 VAT breakdown, one per category and rate. */
export interface VatBreakdown {
  /** BT-118. */
  category: VatCategory;
  /** BT-119 in basis points. */
  rateBp: number;
  /** BT-116. */
  taxableMinor: bigint;
  /** BT-117: taxable × rate, rounded half away from zero once per category and rate. */
  vatMinor: bigint;
  /** BT-120. */
  exemptionReason?: string;
  /** BT-121. */
  exemptionReasonCode?: string;
}

/** BG-22 document totals. */
export interface Totals {
  /** BT-106 sum of line net amounts. */
  lineNetMinor: bigint;
  /** BT-109 total without VAT (no document allowances or charges here). */
  taxExclusiveMinor: bigint;
  /** BT-110 total VAT. */
  vatMinor: bigint;
  /** BT-112 total with VAT. */
  taxInclusiveMinor: bigint;
  /** BT-115 amount due for payment (nothing prepaid here). */
  payableMinor: bigint;
}

export interface EInvoice {
  /** BT-1. */
  number: string;
  /** BT-2, YYYY-MM-DD. */
  issueDate: string;
  /** BT-3. */
  typeCode: DocumentTypeCode;
  /** BT-5, ISO 4217. */
  currency: string;
  /** BT-9, YYYY-MM-DD. */
  dueDate?: string;
  /** BT-10 buyer reference (the Leitweg-ID for German public buyers). */
  buyerReference?: string;
  /** BT-13 purchase order reference. */
  orderReference?: string;
  /** BT-20 payment terms. */
  paymentTerms?: string;
  /** BT-22 invoice note. */
  note?: string;
  /** BG-3, required for a credit note. */
  precedingInvoice?: PrecedingInvoice;
  /** BG-4. */
  seller: Party;
  /** BG-7. */
  buyer: Party;
  /** BG-13. */
  delivery?: Delivery;
  /** BG-16. */
  payment?: Payment;
  /** BG-22. */
  totals: Totals;
  /** BG-23. */
  vatBreakdown: VatBreakdown[];
  /** BG-25. */
  lines: Line[];
}
