// CreateCreditNote: a credit note (BT-3 381) is an invoice of the credited one's parties, payment and
// references, with the lines credited (all of the invoice's when none are given), priced and checked
// by CreateInvoice's own rules, and numbered in the same gapless series.
import { createHash } from "node:crypto";
import { clone, create, toBinary } from "@bufbuild/protobuf";
import { Code, type HandlerContext } from "@connectrpc/connect";
import {
  CreateCreditNoteRequestSchema,
  CreateInvoiceRequestSchema,
  type CreateCreditNoteRequest,
  type CreateInvoiceRequest,
  type Invoice,
} from "@invoicer/sdk";
import { ErrorReason, preconditionFailure, rpcError } from "@invoicer/platform/error-details";
import type { Tracer } from "@invoicer/platform/telemetry";
import type { Db } from "../db/client.ts";
import { dbSpan } from "../db/spans.ts";
import { maxLen, protoViolations, withProtoViolations } from "../domain/proto-rules.ts";
import { validateCreateInvoice } from "../domain/validate-invoice.ts";
import { tenantOf } from "../rpc/callers.ts";
import { assertStillWanted, invalidArgument } from "../rpc/errors.ts";
import { uuidPattern } from "../shared/ids.ts";
import { Violations, type FieldViolation } from "../shared/violations.ts";
import { issueCreditNote, type CreditNoteEvents, type CreditResult, type NewCreditNote } from "./credit-note-store.ts";
import { invoiceCreditedEvent, invoiceEvent } from "./events.ts";
import type { InvoiceRecord } from "./invoice-store.ts";
import { invoiceLookup, newInvoice, notFound, utcToday } from "./invoice-service.ts";
import { toInvoice } from "./to-proto.ts";

const creditNoteEvents: CreditNoteEvents = { issued: invoiceEvent("issued"), credited: invoiceCreditedEvent };

/** The CreateCreditNote method of invoicer.v1.InvoiceService. */
export function creditNoteIssuer(db: Db, tracer: Tracer, today: () => string = utcToday) {
  const mustFind = invoiceLookup(db, tracer);
  return async (req: CreateCreditNoteRequest, ctx: HandlerContext) => {
    const tenantId = tenantOf(ctx);
    const shape = validateCreditNoteShape(req);
    if (shape.length > 0) throw invalidArgument(shape);
    const invoice = await mustFind(tenantId, req.invoiceId);
    const refusal = notCreditable(invoice);
    if (refusal) throw refused(refusal, invoice.id);
    const draft = newCreditNote(req, invoice, tenantId, today);
    const result = await dbSpan(tracer, "INSERT", "invoices", () =>
      issueCreditNote(db, draft, creditNoteEvents, () => assertStillWanted(ctx.signal)),
    );
    return { creditNote: toInvoice(answer(result, invoice.id)) };
  };
}

/**
 * A valid request as the credit note of `invoice` to issue (InvalidArgument otherwise): the one mapping
 * of a credit note's fields, which the e-invoice corpus (test/support/einvoice-samples.ts) takes too.
 */
export function newCreditNote(req: CreateCreditNoteRequest, invoice: InvoiceRecord, tenantId: string, today: () => string): NewCreditNote {
  const request = creditedRequest(req, toInvoice(invoice));
  const violations = creditNoteViolations(request, invoice);
  if (violations.length > 0) throw invalidArgument(violations);
  return {
    ...newInvoice(request, tenantId, today),
    documentType: "CREDIT_NOTE",
    requestHash: creditNoteHash(req),
    precedingInvoiceId: invoice.id,
    precedingInvoiceNumber: invoice.number,
    precedingIssueDate: invoice.issueDate,
  };
}

/** What is checked before the invoice is read: the key, the invoice id, the reason, the number of lines. */
function validateCreditNoteShape(req: CreateCreditNoteRequest): FieldViolation[] {
  const v = new Violations();
  if (req.idempotencyKey === "") v.add("idempotency_key", "is required");
  if (req.invoiceId === "") v.add("invoice_id", "is required");
  else if (!uuidPattern.test(req.invoiceId)) v.add("invoice_id", "must be a UUID in lower case");
  v.text("reason", req.reason, maxLen(CreateCreditNoteRequestSchema.field.reason), { required: true, multiline: true });
  return withProtoViolations(protoViolations(CreateCreditNoteRequestSchema, req), v.list);
}

/**
 * The credit note as a CreateInvoiceRequest: the invoice's parties, payment (its remittance the
 * credit note's own number), references and supply date; the lines given, or else the invoice's.
 */
function creditedRequest(req: CreateCreditNoteRequest, invoice: Invoice): CreateInvoiceRequest {
  const lines = req.lines.length > 0 ? req.lines : invoice.lines.map(({ netMinor: _, $typeName: __, ...line }) => line);
  return create(CreateInvoiceRequestSchema, {
    idempotencyKey: req.idempotencyKey,
    currencyCode: invoice.currencyCode,
    seller: invoice.seller,
    buyer: invoice.buyer,
    lines,
    issueDate: req.issueDate,
    supplyDate: invoice.supplyDate,
    note: req.reason,
    buyerReference: invoice.buyerReference,
    orderReference: invoice.orderReference,
    payment: invoice.payment && { ...invoice.payment, remittance: "" },
    deliveryAddress: invoice.deliveryAddress,
  });
}

/** CreateInvoice's rules on the credit note (its note is the request's reason), and its issue date not before the invoice's. */
function creditNoteViolations(request: CreateInvoiceRequest, invoice: InvoiceRecord): FieldViolation[] {
  const violations = validateCreateInvoice(request).map((v) => (v.field === "note" ? { ...v, field: "reason" } : v));
  if (request.issueDate !== "" && request.issueDate < invoice.issueDate) {
    violations.push({ field: "issue_date", description: `must not be before the invoice's issue date ${invoice.issueDate} (BT-26)` });
  }
  return violations;
}

type Refusal = Extract<CreditResult, { kind: "not-creditable" | "over-credit" }>;

/** A void invoice or a credit note cannot be credited (read again under lock when issuing). */
function notCreditable(invoice: InvoiceRecord): Refusal | undefined {
  if (invoice.status !== "VOID" && invoice.documentType !== "CREDIT_NOTE") return undefined;
  return { kind: "not-creditable", status: invoice.status, documentType: invoice.documentType };
}

/** FailedPrecondition with google.rpc.PreconditionFailure naming the rule the invoice fails. */
function refused(refusal: Refusal, invoiceId: string) {
  if (refusal.kind === "over-credit") {
    const description = `the credit note's total exceeds the invoice's remaining ${refusal.remainingMinor} minor units (its total less what is credited)`;
    return rpcError(description, Code.FailedPrecondition, ErrorReason.CREDIT_EXCEEDS_REMAINING, {
      metadata: { invoice_id: invoiceId, remaining_minor: refusal.remainingMinor.toString() },
      details: [preconditionFailure([{ type: "CREDIT_WITHIN_REMAINING", subject: `invoices/${invoiceId}`, description }])],
    });
  }
  const [type, description] =
    refusal.documentType === "CREDIT_NOTE"
      ? ["CREDITED_IS_INVOICE", "a credit note cannot be credited"]
      : ["CREDITED_NOT_VOID", `invoice is ${refusal.status}; only ISSUED or PAID invoices can be credited`];
  return rpcError(description, Code.FailedPrecondition, ErrorReason.INVOICE_NOT_CREDITABLE, {
    metadata: { invoice_id: invoiceId, status: refusal.status },
    details: [preconditionFailure([{ type, subject: `invoices/${invoiceId}`, description }])],
  });
}

/** The credit note issued or replayed, or the error of the store's answer. */
function answer(result: CreditResult, invoiceId: string): InvoiceRecord {
  switch (result.kind) {
    case "issued":
    case "replayed":
      return result.invoice;
    case "key-reused":
      throw rpcError("idempotency_key: already used for a different request", Code.AlreadyExists, ErrorReason.IDEMPOTENCY_KEY_REUSED);
    case "not-found":
      throw notFound(invoiceId);
    default:
      throw refused(result, invoiceId);
  }
}

/** What a retry must repeat exactly: the request without its key, apart from every CreateInvoice request. */
function creditNoteHash(req: CreateCreditNoteRequest): string {
  const body = clone(CreateCreditNoteRequestSchema, req);
  body.idempotencyKey = "";
  return createHash("sha256").update("CreateCreditNote\n").update(toBinary(CreateCreditNoteRequestSchema, body)).digest("hex");
}
