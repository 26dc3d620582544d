// The EN 16931 fields of a new invoice (issue 31): their shapes, code lists and the business rules
// that tie them together. Each refusal names the field and, where EN 16931 has one, the rule id.
import { decimalQuantityPattern } from "@invoicer/platform/quantities";
import {
  ContactSchema,
  CreateInvoiceRequestSchema,
  ElectronicAddressSchema,
  LineInputSchema,
  PartySchema,
  PaymentInstructionsSchema,
  type CreateInvoiceRequest,
  type LineInput,
  type Party,
  type PaymentInstructions,
} from "@invoicer/sdk";
import { isValidBIC, isValidIBAN } from "ibantools";
import type { Violations } from "../shared/violations.ts";
import { creditTransferCodes, easCodes, paymentMeansPattern, unitCodePattern, vatexCodes } from "./code-lists.ts";
import { exemptCategoryRules, vatCategoryCode, type VatCategoryCode } from "@invoicer/platform/vat-categories";
import { maxLen, upperBound } from "./proto-rules.ts";

/** The bounds of the EN 16931 fields, as the proto declares them (buf.validate). */
export const einvoiceLimits = {
  reference: maxLen(CreateInvoiceRequestSchema.field.buyerReference),
  electronicAddressId: maxLen(ElectronicAddressSchema.field.id),
  contactName: maxLen(ContactSchema.field.name),
  phone: maxLen(ContactSchema.field.phone),
  email: maxLen(ContactSchema.field.email),
  legalRegistrationId: maxLen(PartySchema.field.legalRegistrationId),
  remittance: maxLen(PaymentInstructionsSchema.field.remittance),
  paymentTerms: maxLen(PaymentInstructionsSchema.field.terms),
  exemptionReason: maxLen(LineInputSchema.field.vatExemptionReason),
  quantity: Number(upperBound(LineInputSchema.field.quantity)),
} as const;

/** BT-34/BT-49, BG-6/BG-9 and BT-30/BT-47 of a seller or buyer. */
export function validatePartyEInvoiceFields(v: Violations, at: string, party: Party) {
  const address = party.electronicAddress;
  if (address) {
    const rule = at === "seller" ? "BR-62" : "BR-63";
    if (address.scheme === "") v.add(`${at}.electronic_address.scheme`, `is required with an electronic address (${rule})`);
    else if (!easCodes.has(address.scheme))
      v.add(`${at}.electronic_address.scheme`, "must be a code of the EAS list, such as 9930 or 0204 (BR-CL-25)");
    v.text(`${at}.electronic_address.id`, address.id, einvoiceLimits.electronicAddressId, { required: true });
  }
  const contact = party.contact;
  if (contact) {
    v.text(`${at}.contact.name`, contact.name, einvoiceLimits.contactName);
    v.text(`${at}.contact.phone`, contact.phone, einvoiceLimits.phone);
    v.text(`${at}.contact.email`, contact.email, einvoiceLimits.email);
    if (contact.email !== "" && !/^[^@\s]+@[^@\s]+$/.test(contact.email)) v.add(`${at}.contact.email`, "must be an e-mail address");
  }
  v.text(`${at}.legal_registration_id`, party.legalRegistrationId, einvoiceLimits.legalRegistrationId);
}

/** BT-10, BT-13, BG-16 and BT-20 of a new invoice. */
export function validateInvoiceEInvoiceFields(v: Violations, req: CreateInvoiceRequest) {
  v.text("buyer_reference", req.buyerReference, einvoiceLimits.reference);
  v.text("order_reference", req.orderReference, einvoiceLimits.reference);
  if (req.payment) validatePayment(v, req.payment);
}

function validatePayment(v: Violations, p: PaymentInstructions) {
  if (p.meansCode === "") v.add("payment.means_code", "is required with payment instructions (BR-49)");
  else if (!paymentMeansPattern.test(p.meansCode)) v.add("payment.means_code", "must be a UNTDID 4461 code, such as 58 (BR-CL-16)");
  if (p.iban === "") {
    if (creditTransferCodes.has(p.meansCode)) v.add("payment.iban", `is required for means code ${p.meansCode} (BR-61)`);
  } else if (!isValidIBAN(p.iban)) {
    v.add("payment.iban", "must be an IBAN with a valid checksum, upper case without spaces");
  }
  if (p.bic !== "" && !isValidBIC(p.bic)) v.add("payment.bic", "must be a BIC of 8 or 11 characters (ISO 9362)");
  v.text("payment.remittance", p.remittance, einvoiceLimits.remittance);
  v.text("payment.terms", p.terms, einvoiceLimits.paymentTerms, { multiline: true });
}

/** BT-129/BT-130 and the VAT category rules of one line; returns its category, undefined when unknown. */
export function validateLineEInvoiceFields(v: Violations, at: string, line: LineInput): VatCategoryCode | undefined {
  if (line.unitCode !== "" && !unitCodePattern.test(line.unitCode)) {
    v.add(`${at}.unit_code`, "must be a UN/ECE Recommendation 20 or 21 code, such as C62 or HUR (BR-CL-23)");
  }
  if (line.quantityDecimal !== "") validateDecimalQuantity(v, at, line);
  const category = vatCategoryCode(line.vatCategory, line.vatRateBp);
  if (!category) v.add(`${at}.vat_category`, "is not a known VAT category");
  else validateCategoryOfLine(v, at, line, category);
  return category;
}

function validateDecimalQuantity(v: Violations, at: string, line: LineInput) {
  if (line.quantity !== 0n) v.add(`${at}.quantity`, "must be 0 when quantity_decimal is set");
  if (!decimalQuantityPattern.test(line.quantityDecimal)) {
    v.add(`${at}.quantity_decimal`, "must be a decimal with up to 4 places, such as 1.5");
  } else if (Number(line.quantityDecimal) <= 0 || Number(line.quantityDecimal) > einvoiceLimits.quantity) {
    v.add(`${at}.quantity_decimal`, `must be above 0 and at most ${einvoiceLimits.quantity}`);
  }
}

/** BR-S-05/BR-x-05 (the rate), BR-x-10 (an exemption reason for E, AE, K, G, O) and BR-S-10/BR-Z-10 (none for S, Z). */
function validateCategoryOfLine(v: Violations, at: string, line: LineInput, category: VatCategoryCode) {
  const exempt = exemptCategoryRules[category];
  const rule = exempt ?? `BR-${category}`;
  if (category === "S" && line.vatRateBp === 0) v.add(`${at}.vat_rate_bp`, "must be above 0 for the standard rate (BR-S-05)");
  if (category !== "S" && line.vatRateBp !== 0) v.add(`${at}.vat_rate_bp`, `must be 0 for category ${category} (${rule}-05)`);
  v.text(`${at}.vat_exemption_reason`, line.vatExemptionReason, einvoiceLimits.exemptionReason);
  const code = line.vatExemptionReasonCode;
  if (code !== "" && !vatexCodes.has(code))
    v.add(`${at}.vat_exemption_reason_code`, "must be a code of the VATEX list, such as VATEX-EU-AE (BR-CL-22)");
  const given = line.vatExemptionReason.trim() !== "" || code !== "";
  if (exempt && !given)
    v.add(`${at}.vat_exemption_reason`, `this or vat_exemption_reason_code is required for category ${category} (${rule}-10)`);
  if (!exempt && given)
    v.add(`${at}.vat_exemption_reason`, `must be empty for category ${category}, as must vat_exemption_reason_code (${rule}-10)`);
}

/** The rules tying categories to the parties' VAT ids and to each other (BR-AE-02, BR-IC-02, BR-O-02, BR-O-11). */
export function validateCategoriesOfInvoice(v: Violations, req: CreateInvoiceRequest, categories: Set<VatCategoryCode>) {
  const buyerVatId = req.buyer?.vatId ?? "";
  if (categories.has("AE") && buyerVatId === "") v.add("buyer.vat_id", "is required for reverse charge (BR-AE-02)");
  if (categories.has("K") && buyerVatId === "") v.add("buyer.vat_id", "is required for an intra-community supply (BR-IC-02)");
  if (!categories.has("O")) return;
  if (categories.size > 1) v.add("lines", "must all be VAT_CATEGORY_NOT_SUBJECT when one is (BR-O-11)");
  if (req.seller && req.seller.vatId !== "") v.add("seller.vat_id", "must be empty when not subject to VAT (BR-O-02)");
  if (buyerVatId !== "") v.add("buyer.vat_id", "must be empty when not subject to VAT (BR-O-02)");
}
