import { sql } from "drizzle-orm";
import {
  bigint,
  check,
  customType,
  date,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  type AnyPgColumn,
} from "drizzle-orm/pg-core";

const bytea = customType<{ data: Uint8Array; driverData: Buffer }>({
  dataType: () => "bytea",
  fromDriver: (value) => new Uint8Array(value),
  toDriver: (value) => Buffer.from(value),
});

const money = (name: string) => bigint(name, { mode: "bigint" }).notNull();

/** An issuer: every invoice, key and number series belongs to one tenant. */
export const tenants = pgTable("tenants", {
  id: uuid("id").primaryKey().defaultRandom(),
  name: text("name").notNull().unique(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

/** API keys are stored as SHA-256 of the key; the key itself is shown once. */
export const apiKeys = pgTable("api_keys", {
  id: uuid("id").primaryKey().defaultRandom(),
  tenantId: uuid("tenant_id")
    .notNull()
    .references(() => tenants.id),
  keyHash: text("key_hash").notNull().unique(),
  keyPrefix: text("key_prefix").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  revokedAt: timestamp("revoked_at", { withTimezone: true }),
});

/**
 * Each API key's token bucket for the whole fleet of gateways, which lease tokens from it in batches
 * (leaseRateTokens). Apart from api_keys so the hot updates do not churn the table keys are read from.
 */
export const apiKeyRateBuckets = pgTable("api_key_rate_buckets", {
  apiKeyId: uuid("api_key_id")
    .primaryKey()
    .references(() => apiKeys.id, { onDelete: "cascade" }),
  tokens: doublePrecision("tokens").notNull(),
  refilledAt: timestamp("refilled_at", { withTimezone: true }).notNull(),
  // What the latest lease took: RETURNING sees only the row after the update, not what it held before.
  lastGranted: integer("last_granted").notNull(),
});

/** The last number issued per tenant; bumped in the issuing transaction so numbers have no gaps. */
export const invoiceCounters = pgTable("invoice_counters", {
  tenantId: uuid("tenant_id")
    .primaryKey()
    .references(() => tenants.id),
  lastNumber: bigint("last_number", { mode: "bigint" }).notNull(),
});

export const invoices = pgTable(
  "invoices",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id),
    number: bigint("number", { mode: "bigint" }).notNull(),
    status: text("status", { enum: ["ISSUED", "PAID", "VOID"] }).notNull(),
    documentStatus: text("document_status", { enum: ["PENDING", "READY"] }).notNull(),
    currencyCode: text("currency_code").notNull(),
    seller: jsonb("seller").$type<PartyRecord>().notNull(),
    buyer: jsonb("buyer").$type<PartyRecord>().notNull(),
    vatBreakdown: jsonb("vat_breakdown").$type<VatBreakdownRecord[]>().notNull(),
    subtotalMinor: money("subtotal_minor"),
    vatTotalMinor: money("vat_total_minor"),
    totalMinor: money("total_minor"),
    issueDate: date("issue_date").notNull(),
    supplyDate: date("supply_date").notNull(),
    dueDate: date("due_date").notNull(),
    note: text("note").notNull().default(""),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    paidAt: timestamp("paid_at", { withTimezone: true }),
    voidedAt: timestamp("voided_at", { withTimezone: true }),
    voidReason: text("void_reason").notNull().default(""),
    /** BT-3: INVOICE (380) or CREDIT_NOTE (381). */
    documentType: text("document_type", { enum: ["INVOICE", "CREDIT_NOTE"] })
      .notNull()
      .default("INVOICE"),
    /** BT-10, "" when not given. */
    buyerReference: text("buyer_reference").notNull().default(""),
    /** BT-13, "" when not given. */
    orderReference: text("order_reference").notNull().default(""),
    /** BG-16 and BT-20, null when not given; the remittance (BT-83) is stored resolved. */
    payment: jsonb("payment").$type<PaymentRecord>(),
    /** BG-15, null when none was given or needed. */
    deliveryAddress: jsonb("delivery_address").$type<AddressRecord>(),
    /** A credit note's invoice (BG-3); null on invoices. */
    precedingInvoiceId: uuid("preceding_invoice_id").references((): AnyPgColumn => invoices.id),
    /** BT-25, the preceding invoice's number as issued. */
    precedingInvoiceNumber: bigint("preceding_invoice_number", { mode: "bigint" }),
    /** BT-26, the preceding invoice's issue date. */
    precedingIssueDate: date("preceding_issue_date"),
    /** An invoice's credit notes' totals summed; raised in the credit note's transaction, never above total_minor. */
    creditedMinor: bigint("credited_minor", { mode: "bigint" })
      .notNull()
      .default(sql`0`),
    /** An invoice's credit notes, oldest first. */
    creditNoteIds: uuid("credit_note_ids")
      .array()
      .notNull()
      .default(sql`'{}'::uuid[]`),
  },
  (t) => [
    check("invoices_credited_within_total", sql`${t.creditedMinor} between 0 and ${t.totalMinor}`),
    uniqueIndex("invoices_tenant_number_idx").on(t.tenantId, t.number),
    index("invoices_tenant_status_number_idx").on(t.tenantId, t.status, t.number),
    // Invoices still waiting for their documents, oldest first: what the stale-documents check reads.
    index("invoices_pending_documents_idx")
      .on(t.createdAt)
      .where(sql`${t.documentStatus} = 'PENDING'`),
  ],
);

export const invoiceLines = pgTable(
  "invoice_lines",
  {
    invoiceId: uuid("invoice_id")
      .notNull()
      .references(() => invoices.id),
    position: integer("position").notNull(),
    description: text("description").notNull(),
    quantity: bigint("quantity", { mode: "bigint" }).notNull(),
    unitPriceMinor: money("unit_price_minor"),
    vatRateBp: integer("vat_rate_bp").notNull(),
    netMinor: money("net_minor"),
    /** BT-130, UN/ECE Rec 20/21. */
    unitCode: text("unit_code").notNull().default("C62"),
    /** BT-151; lines stored before categories are S above 0 % and Z at 0 % (migration 0004). */
    vatCategory: text("vat_category", { enum: ["S", "Z", "E", "AE", "K", "G", "O"] })
      .notNull()
      .default("S"),
    /** BT-120, "" when not given. */
    vatExemptionReason: text("vat_exemption_reason").notNull().default(""),
    /** BT-121 (VATEX), "" when not given. */
    vatExemptionReasonCode: text("vat_exemption_reason_code").notNull().default(""),
    /** BT-129 as the request wrote it ("1.5"); "" for a whole-unit quantity (then `quantity` holds it, else 0). */
    quantityDecimal: text("quantity_decimal").notNull().default(""),
  },
  (t) => [primaryKey({ columns: [t.invoiceId, t.position] })],
);

/** One row per idempotency key: the hash of the request it first came with, and its invoice. */
export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id),
    key: text("key").notNull(),
    requestHash: text("request_hash").notNull(),
    invoiceId: uuid("invoice_id").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.key] })],
);

/** Events written in the same transaction as the change they describe; the relay publishes them. */
export const outbox = pgTable(
  "outbox",
  {
    id: uuid("id").primaryKey(),
    // Commit-independent order of writes: the relay publishes each invoice's events in this order.
    position: bigint("position", { mode: "bigint" }).notNull().generatedAlwaysAsIdentity(),
    tenantId: uuid("tenant_id").notNull(),
    invoiceId: uuid("invoice_id").notNull(),
    eventType: text("event_type").notNull(),
    payload: bytea("payload").notNull(),
    traceparent: text("traceparent"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    publishedAt: timestamp("published_at", { withTimezone: true }),
    attempts: integer("attempts").notNull().default(0),
    // Set aside: the broker refused this row for good (too large); later rows of its invoice wait behind it.
    parkedAt: timestamp("parked_at", { withTimezone: true }),
    parkReason: text("park_reason"),
  },
  (t) => [
    index("outbox_unpublished_idx")
      .on(t.position)
      .where(sql`${t.publishedAt} is null`),
    index("outbox_parked_idx")
      .on(t.position)
      .where(sql`${t.parkedAt} is not null and ${t.publishedAt} is null`),
    index("outbox_unpublished_invoice_idx")
      .on(t.invoiceId, t.position)
      .where(sql`${t.publishedAt} is null`),
  ],
);

/** Rendered documents of an invoice, one per format, attached by the consumer. */
export const invoiceDocuments = pgTable(
  "invoice_documents",
  {
    invoiceId: uuid("invoice_id")
      .notNull()
      .references(() => invoices.id),
    tenantId: uuid("tenant_id").notNull(),
    format: text("format", { enum: ["PDF", "DOCX", "XRECHNUNG_UBL", "XRECHNUNG_CII", "PEPPOL_UBL"] }).notNull(),
    contentType: text("content_type").notNull(),
    content: bytea("content").notNull(),
    // Lower-case hex, computed by PostgreSQL from the bytes as it stores them (rows stored before were computed when the column came).
    sha256: text("sha256")
      .notNull()
      .generatedAlwaysAs(sql`encode(sha256(content), 'hex')`),
    // The event the document was rendered from (a record, not a key: attaching is idempotent by invoice and format).
    eventId: uuid("event_id").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.invoiceId, t.format] })],
);

export interface AddressRecord {
  street: string;
  city: string;
  postalCode: string;
  countryCode: string;
}

/** Parties stored before issue 31 have none of the optional fields. */
export interface PartyRecord {
  name: string;
  vatId: string;
  address: AddressRecord;
  /** BT-34/BT-49. */
  electronicAddress?: { scheme: string; id: string };
  /** BG-6/BG-9. */
  contact?: { name: string; phone: string; email: string };
  /** BT-30/BT-47. */
  legalRegistrationId?: string;
}

/** BG-16 and BT-20. */
export interface PaymentRecord {
  meansCode: string;
  iban: string;
  bic: string;
  remittance: string;
  terms: string;
}

/** Amounts are decimal strings: jsonb cannot hold int64 without losing precision. */
export interface VatBreakdownRecord {
  /** BT-118; absent in breakdowns stored before categories (then S above 0 %, Z at 0 %). */
  vatCategory?: "S" | "Z" | "E" | "AE" | "K" | "G" | "O";
  vatRateBp: number;
  taxableMinor: string;
  vatMinor: string;
  /** BT-120/BT-121 of the group's lines. */
  vatExemptionReason?: string;
  vatExemptionReasonCode?: string;
}
