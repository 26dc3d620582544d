import { createHash, randomUUID } from "node:crypto";
import { clone, toBinary } from "@bufbuild/protobuf";
import { Code, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  CreateInvoiceRequestSchema,
  InvoiceStatus,
  type Address,
  type CreateInvoiceRequest,
  type InvoiceService,
  type Party,
  type PaymentInstructions,
} from "@invoicer/sdk";
import { ErrorReason, preconditionFailure, rpcError } from "@invoicer/platform/error-details";
import type { Tracer } from "@invoicer/platform/telemetry";
import type { Db } from "../db/client.ts";
import { dbSpan } from "../db/spans.ts";
import type { AddressRecord, PartyRecord, PaymentRecord } from "../db/schema.ts";
import { AmountOverflowError, priceInvoice, type LineAmounts } from "../domain/pricing.ts";
import { vatCategoryCode } from "@invoicer/platform/vat-categories";
import { addDays, defaultPaymentTermDays, limits, validateCreateInvoice } from "../domain/validate-invoice.ts";
import { apiKeyHashOf, tenantOf } from "../rpc/callers.ts";
import { assertStillWanted, invalidArgument } from "../rpc/errors.ts";
import { noteLinesRead } from "../rpc/read-budget.ts";
import { uuidPattern } from "../shared/ids.ts";
import { Violations } from "../shared/violations.ts";
import { invoiceEvent } from "./events.ts";
import { invoiceReader, issueInvoice, listInvoices, settleInvoice, type InvoiceRecord, type NewInvoice } from "./invoice-store.ts";
import { statusFromProto, toInvoice } from "./to-proto.ts";
import type { InvoiceWatch } from "./watch.ts";

const defaultPageSize = 20;
const maxPageSize = 100;
/** A page's lines at most (but for its first invoice): with 100 invoices of 100 long lines one answer was 5 MB, past gRPC clients' default 4 MiB, and held the server's event loop for 50-70 ms in serialization alone. */
const maxPageLines = 1_000;
const maxInt64 = 2n ** 63n - 1n;

/** The tenant's invoice by the id a caller sent: InvalidArgument when it is no id, NotFound when there is none. */
export function invoiceLookup(db: Db, tracer: Tracer) {
  const findInvoice = invoiceReader(db);
  return async (tenantId: string, id: string): Promise<InvoiceRecord> => {
    assertInvoiceId(id);
    const invoice = await dbSpan(tracer, "SELECT", "invoices", () => findInvoice(tenantId, id));
    if (!invoice) throw notFound(id);
    return invoice;
  };
}

/** invoicer.v1.InvoiceService on PostgreSQL, but for GetInvoiceDocument (documents/document-service.ts) and CreateCreditNote (credit-note-service.ts). */
export function invoiceService(
  db: Db,
  watch: InvoiceWatch,
  tracer: Tracer,
  today: () => string = utcToday,
): Omit<ServiceImpl<typeof InvoiceService>, "getInvoiceDocument" | "createCreditNote"> {
  const mustFind = invoiceLookup(db, tracer);
  return {
    async createInvoice(req, ctx) {
      const tenantId = tenantOf(ctx);
      const violations = validateCreateInvoice(req);
      if (violations.length > 0) throw invalidArgument(violations);
      const draft = newInvoice(req, tenantId, today);
      const result = await dbSpan(tracer, "INSERT", "invoices", () =>
        issueInvoice(db, draft, invoiceEvent("issued"), () => assertStillWanted(ctx.signal)),
      );
      if (result.kind === "key-reused") {
        throw rpcError("idempotency_key: already used for a different request", Code.AlreadyExists, ErrorReason.IDEMPOTENCY_KEY_REUSED);
      }
      return { invoice: toInvoice(result.invoice) };
    },

    async getInvoice(req, ctx) {
      return { invoice: answered(ctx, await mustFind(tenantOf(ctx), req.id)) };
    },

    async listInvoices(req, ctx) {
      const tenantId = tenantOf(ctx);
      const v = new Violations();
      if (req.pageSize < 0 || req.pageSize > maxPageSize) v.add("page_size", `must be from 0 to ${maxPageSize}`);
      const beforeNumber = req.pageToken === "" ? undefined : decodePageToken(req.pageToken);
      if (beforeNumber === null) v.add("page_token", "is not a token this API returned");
      const status = statusFromProto[req.status];
      if (req.status !== InvoiceStatus.UNSPECIFIED && !status) v.add("status", "is not a known invoice status");
      if (v.list.length > 0) throw invalidArgument(v.list);
      const limit = req.pageSize || defaultPageSize;
      const { invoices, more } = await dbSpan(tracer, "SELECT", "invoices", () =>
        listInvoices(db, tenantId, { limit, maxLines: maxPageLines, beforeNumber: beforeNumber ?? undefined, status }),
      );
      return {
        invoices: invoices.map((invoice) => answered(ctx, invoice)),
        nextPageToken: more ? encodePageToken(invoices[invoices.length - 1]!.number) : "",
      };
    },

    async payInvoice(req, ctx) {
      return { invoice: await settle(db, tracer, ctx, req.id, "PAID", "") };
    },

    async voidInvoice(req, ctx) {
      const v = new Violations();
      v.text("reason", req.reason, limits.voidReason, { multiline: true });
      if (v.list.length > 0) throw invalidArgument(v.list);
      return { invoice: await settle(db, tracer, ctx, req.id, "VOID", req.reason) };
    },

    async *watchInvoices(_req, ctx) {
      for await (const event of watch.subscribe(tenantOf(ctx), ctx.signal, apiKeyHashOf(ctx))) yield { event };
    },
  };
}

/** A stored invoice as the answer carries it, its lines charged to the tenant's read budget. */
function answered(ctx: HandlerContext, invoice: InvoiceRecord) {
  noteLinesRead(ctx, invoice.lines.length);
  return toInvoice(invoice);
}

/**
 * A valid request as the invoice to issue: the one mapping of request fields to stored ones
 * (the dates' defaults, the parties, the lines, the pricing). The due date must not precede the issue date.
 */
export function newInvoice(req: CreateInvoiceRequest, tenantId: string, today: () => string): NewInvoice {
  const issueDate = req.issueDate || today();
  const dueDate = req.dueDate || addDays(issueDate, defaultPaymentTermDays);
  if (dueDate < issueDate) throw invalidArgument([{ field: "due_date", description: "must not be before issue_date" }]);
  const lines = lineRecords(req);
  return {
    id: randomUUID(),
    tenantId,
    idempotencyKey: req.idempotencyKey,
    requestHash: requestHash(req),
    currencyCode: req.currencyCode,
    seller: partyRecord(req.seller!),
    buyer: partyRecord(req.buyer!),
    lines,
    pricing: price(lines),
    issueDate,
    supplyDate: req.supplyDate || issueDate,
    dueDate,
    note: req.note,
    documentType: "INVOICE",
    buyerReference: req.buyerReference,
    orderReference: req.orderReference,
    payment: req.payment ? paymentRecord(req.payment) : null,
    deliveryAddress: deliveryAddressOf(req, lines),
    precedingInvoiceId: null,
    precedingInvoiceNumber: null,
    precedingIssueDate: null,
  };
}

/** A valid request's lines as stored: unit code C62 and the category from the rate when not given. */
function lineRecords(req: CreateInvoiceRequest): NewInvoice["lines"] {
  return req.lines.map((l) => ({
    description: l.description,
    quantity: l.quantityDecimal ? 0n : l.quantity,
    quantityDecimal: l.quantityDecimal,
    unitCode: l.unitCode || "C62",
    unitPriceMinor: l.unitPriceMinor,
    vatRateBp: l.vatRateBp,
    vatCategory: vatCategoryCode(l.vatCategory, l.vatRateBp)!,
    vatExemptionReason: l.vatExemptionReason,
    vatExemptionReasonCode: l.vatExemptionReasonCode,
  }));
}

/** BG-15 as given; for an intra-community supply without one, the buyer's address (BR-IC-12 needs a deliver-to country). */
function deliveryAddressOf(req: CreateInvoiceRequest, lines: NewInvoice["lines"]): AddressRecord | null {
  const address = req.deliveryAddress ?? (lines.some((l) => l.vatCategory === "K") ? req.buyer!.address : undefined);
  return address ? addressRecord(address) : null;
}

function paymentRecord(p: PaymentInstructions): PaymentRecord {
  return { meansCode: p.meansCode, iban: p.iban, bic: p.bic, remittance: p.remittance, terms: p.terms };
}

async function settle(db: Db, tracer: Tracer, ctx: HandlerContext, id: string, to: "PAID" | "VOID", reason: string) {
  const tenantId = tenantOf(ctx);
  assertInvoiceId(id);
  const result = await dbSpan(tracer, "UPDATE", "invoices", () =>
    settleInvoice(db, tenantId, id, to, reason, invoiceEvent(to === "PAID" ? "paid" : "voided"), () => assertStillWanted(ctx.signal)),
  );
  if (result.kind === "not-found") throw notFound(id);
  if (result.kind === "credited") {
    const description = "a credit note, or an invoice with credit notes, cannot be voided: issue a credit note of what remains";
    throw rpcError(description, Code.FailedPrecondition, ErrorReason.INVOICE_NOT_VOIDABLE, {
      metadata: { id },
      details: [preconditionFailure([{ type: "VOID_ONLY_UNCREDITED_INVOICE", subject: `invoices/${id}`, description }])],
    });
  }
  if (result.kind === "wrong-status") {
    const verb = to === "PAID" ? "paid" : "voided";
    throw rpcError(
      `invoice is ${result.status}; only ISSUED invoices can be ${verb}`,
      Code.FailedPrecondition,
      ErrorReason.INVOICE_NOT_ISSUED,
      {
        metadata: { status: result.status },
      },
    );
  }
  return answered(ctx, result.invoice);
}

function assertInvoiceId(id: string) {
  if (id === "") throw invalidArgument([{ field: "id", description: "is required" }]);
  if (!uuidPattern.test(id)) throw invalidArgument([{ field: "id", description: "must be a UUID in lower case" }]);
}

export const notFound = (id: string) =>
  rpcError(`invoice ${id} not found`, Code.NotFound, ErrorReason.INVOICE_NOT_FOUND, { metadata: { id } });

function price(lines: LineAmounts[]) {
  try {
    return priceInvoice(lines);
  } catch (err) {
    if (err instanceof AmountOverflowError) {
      throw invalidArgument([{ field: err.field, description: "amount exceeds the largest int64 amount" }]);
    }
    throw err;
  }
}

/** What a retry must repeat exactly: the request without its idempotency key. */
function requestHash(req: CreateInvoiceRequest): string {
  const body = clone(CreateInvoiceRequestSchema, req);
  body.idempotencyKey = "";
  return createHash("sha256").update(toBinary(CreateInvoiceRequestSchema, body)).digest("hex");
}

function partyRecord(p: Party): PartyRecord {
  const e = p.electronicAddress;
  const c = p.contact;
  return {
    name: p.name,
    vatId: p.vatId,
    address: addressRecord(p.address!),
    ...(e ? { electronicAddress: { scheme: e.scheme, id: e.id } } : {}),
    ...(c ? { contact: { name: c.name, phone: c.phone, email: c.email } } : {}),
    legalRegistrationId: p.legalRegistrationId,
  };
}

const addressRecord = (a: Address): AddressRecord => ({
  street: a.street,
  city: a.city,
  postalCode: a.postalCode,
  countryCode: a.countryCode,
});

function encodePageToken(lastNumber: bigint): string {
  return Buffer.from(`n:${lastNumber}`).toString("base64url");
}

/** The number to continue below, or null when the token is not one of ours. */
function decodePageToken(token: string): bigint | null {
  const match = /^n:([1-9]\d{0,18})$/.exec(Buffer.from(token, "base64url").toString());
  const number = match ? BigInt(match[1]!) : null;
  // Numbers are bigint columns: anything above 2^63-1 was never issued (and PostgreSQL would reject it).
  return number !== null && number <= maxInt64 ? number : null;
}

export function utcToday(): string {
  return new Date().toISOString().slice(0, 10);
}
