import {
  AddressSchema,
  CreateInvoiceRequestSchema,
  LineInputSchema,
  PartySchema,
  type Address,
  type CreateInvoiceRequest,
  type Party,
} from "@invoicer/sdk";
import { minorUnitDigits } from "@invoicer/platform/currencies";
import { Violations, type FieldViolation } from "../shared/violations.ts";
import { unprintable } from "./printable-text.ts";
import {
  validateCategoriesOfInvoice,
  validateInvoiceEInvoiceFields,
  validateLineEInvoiceFields,
  validatePartyEInvoiceFields,
} from "./validate-einvoice.ts";
import { vatCategoryCode, type VatCategoryCode } from "@invoicer/platform/vat-categories";
import { maxItems, maxLen, protoViolations, upperBound, withProtoViolations } from "./proto-rules.ts";

/** The bounds the domain's messages name, as the proto declares them (buf.validate); the void reason's is the API's own. */
export const limits = {
  lines: maxItems(CreateInvoiceRequestSchema.field.lines),
  idempotencyKey: maxLen(CreateInvoiceRequestSchema.field.idempotencyKey),
  name: maxLen(PartySchema.field.name),
  street: maxLen(AddressSchema.field.street),
  city: maxLen(AddressSchema.field.city),
  postalCode: maxLen(AddressSchema.field.postalCode),
  description: maxLen(LineInputSchema.field.description),
  note: maxLen(CreateInvoiceRequestSchema.field.note),
  voidReason: 500,
  quantity: upperBound(LineInputSchema.field.quantity),
  vatRateBp: Number(upperBound(LineInputSchema.field.vatRateBp)),
} as const;

/** Dates both PostgreSQL (no year 0) and YYYY-MM-DD can hold. */
const dateRange = { earliest: "0001-01-01", latest: "9999-12-31" } as const;
export const defaultPaymentTermDays = 30;

const vatIdPattern = /^[A-Z]{2}[A-Z0-9+*.]{2,13}$/;
const regionNames = new Intl.DisplayNames(["en"], { type: "region", fallback: "none" });

/** Every rule a new invoice must pass before it touches the database. */
export function validateCreateInvoice(req: CreateInvoiceRequest): FieldViolation[] {
  // Every text of a new invoice reaches its documents: the PDF must be able to print it.
  const v = new Violations(unprintable);
  if (req.idempotencyKey === "") v.add("idempotency_key", "is required");
  else if (req.idempotencyKey.length > limits.idempotencyKey || !/^[\x21-\x7e]+$/.test(req.idempotencyKey)) {
    v.add("idempotency_key", `must be 1 to ${limits.idempotencyKey} printable ASCII characters`);
  }
  if (req.currencyCode === "") v.add("currency_code", "is required");
  else if (minorUnitDigits(req.currencyCode) === undefined) {
    v.add("currency_code", "must be an active ISO 4217 code such as EUR");
  }
  // Not subject to VAT (O) is the one category whose seller has no VAT id (BR-O-02).
  const notSubject = req.lines.some((l) => vatCategoryCode(l.vatCategory, l.vatRateBp) === "O");
  validateParty(v, "seller", req.seller, !notSubject);
  validateParty(v, "buyer", req.buyer, false);
  const categories = validateLines(v, req);
  const issue = dateField(v, "issue_date", req.issueDate);
  dateField(v, "supply_date", req.supplyDate);
  const due = dateField(v, "due_date", req.dueDate);
  if (issue && due && due < issue) v.add("due_date", "must not be before issue_date");
  // Without a due date the invoice is due defaultPaymentTermDays after issue: that must be a storable date too.
  const latestIssue = addDays(dateRange.latest, -defaultPaymentTermDays);
  if (issue && req.dueDate === "" && issue > latestIssue) v.add("issue_date", `must be at most ${latestIssue} when due_date is not given`);
  v.text("note", req.note, limits.note, { multiline: true });
  validateInvoiceEInvoiceFields(v, req);
  if (req.deliveryAddress) validateAddress(v, "delivery_address", req.deliveryAddress);
  validateCategoriesOfInvoice(v, req, categories);
  return withProtoViolations(protoViolations(CreateInvoiceRequestSchema, req), v.list);
}

/** 1 to 100 lines; returns the VAT categories (BT-151) of the lines checked. */
function validateLines(v: Violations, req: CreateInvoiceRequest): Set<VatCategoryCode> {
  if (req.lines.length === 0) v.add("lines", "at least one line is required");
  if (req.lines.length > limits.lines) v.add("lines", `must have at most ${limits.lines} lines`);
  const categories = new Set<VatCategoryCode>();
  req.lines.slice(0, limits.lines).forEach((line, i) => {
    const at = `lines[${i}]`;
    v.text(`${at}.description`, line.description, limits.description, { required: true, multiline: true });
    // A decimal quantity replaces the whole-unit one (validateLineEInvoiceFields checks it).
    if (line.quantityDecimal === "") validateWholeQuantity(v, at, line.quantity);
    if (line.unitPriceMinor < 0n) v.add(`${at}.unit_price_minor`, "must not be negative");
    if (line.vatRateBp < 0 || line.vatRateBp > limits.vatRateBp) {
      v.add(`${at}.vat_rate_bp`, `must be from 0 to ${limits.vatRateBp} basis points`);
    }
    const category = validateLineEInvoiceFields(v, at, line);
    if (category) categories.add(category);
  });
  return categories;
}

function validateWholeQuantity(v: Violations, at: string, quantity: bigint) {
  if (quantity < 1n) v.add(`${at}.quantity`, "must be at least 1");
  else if (quantity > limits.quantity) v.add(`${at}.quantity`, `must be at most ${limits.quantity}`);
}

function validateParty(v: Violations, at: string, party: Party | undefined, vatIdRequired: boolean) {
  if (!party) {
    v.add(at, "is required");
    return;
  }
  v.text(`${at}.name`, party.name, limits.name, { required: true });
  if (party.vatId === "") {
    if (vatIdRequired) v.add(`${at}.vat_id`, "is required (BR-S-02)");
  } else if (!vatIdPattern.test(party.vatId)) {
    v.add(`${at}.vat_id`, "must be a country prefix and 2 to 13 characters, such as DE123456789");
  }
  validateAddress(v, `${at}.address`, party.address);
  validatePartyEInvoiceFields(v, at, party);
}

function validateAddress(v: Violations, at: string, address: Address | undefined) {
  if (!address) {
    v.add(at, "is required");
    return;
  }
  v.text(`${at}.street`, address.street, limits.street, { required: true });
  v.text(`${at}.city`, address.city, limits.city, { required: true });
  v.text(`${at}.postal_code`, address.postalCode, limits.postalCode);
  if (address.countryCode === "") v.add(`${at}.country_code`, "is required");
  else if (!/^[A-Z]{2}$/.test(address.countryCode) || !knownRegion(address.countryCode)) {
    v.add(`${at}.country_code`, "must be an ISO 3166-1 alpha-2 code such as DE");
  }
}

function knownRegion(code: string): boolean {
  const name = regionNames.of(code);
  return name !== undefined && name !== "Unknown Region";
}

/** Returns the date when present and valid; empty means "use the default". */
function dateField(v: Violations, field: string, value: string): string | undefined {
  if (value === "") return undefined;
  const parsed = new Date(`${value}T00:00:00Z`);
  const valid = /^\d{4}-\d{2}-\d{2}$/.test(value) && !isNaN(parsed.getTime()) && parsed.toISOString().startsWith(value);
  if (!valid) {
    v.add(field, "must be a calendar date as YYYY-MM-DD");
    return undefined;
  }
  if (value < dateRange.earliest) {
    v.add(field, `must be from ${dateRange.earliest} to ${dateRange.latest}`);
    return undefined;
  }
  return value;
}

/** `date` (YYYY-MM-DD) moved by `days`, in UTC. */
export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}
