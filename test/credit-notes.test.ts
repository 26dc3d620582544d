// CreateCreditNote through the gateway on the real stack: a credit note (381) of an issued invoice,
// numbered in the invoices' gapless series, never crediting more than the invoice's total.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { clone, create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import {
  CreateCreditNoteRequestSchema,
  DocumentFormat,
  DocumentStatus,
  DocumentType,
  InvoiceStatus,
  VatCategory,
  type InvoiceService,
} from "@invoicer/sdk";
import { BadRequestSchema, ErrorInfoSchema, PreconditionFailureSchema } from "@invoicer/sdk/google/rpc/error_details_pb";
import { strFromU8, unzipSync } from "fflate";
import { extractText, getDocumentProxy } from "unpdf";
import { createApiKey } from "../server/src/api-key-admin.ts";
import { watchInvoices } from "./support/events.ts";
import { countRows, sampleInvoice, startStack, type Stack } from "./support/stack.ts";

let stack: Stack;
before(async () => {
  stack = await startStack({}, {});
});
after(() => stack.close());

async function rejection(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (err) {
    return ConnectError.from(err);
  }
  assert.fail("expected the call to fail");
}

let keys = 0;
const creditNote = (init: MessageInitShape<typeof CreateCreditNoteRequestSchema>) =>
  create(CreateCreditNoteRequestSchema, { idempotencyKey: `credit-${process.pid}-${keys++}`, reason: "Goods returned", ...init });
const reasonOf = (err: ConnectError) => err.findDetails(ErrorInfoSchema)[0]?.reason;
const preconditionTypes = (err: ConnectError) => err.findDetails(PreconditionFailureSchema).flatMap((p) => p.violations.map((v) => v.type));
/** One line of `minor` at 0 % (category Z): its total is `minor`. */
const zeroRated = (minor: bigint) => ({ description: "Credit", quantity: 1n, unitPriceMinor: minor, vatRateBp: 0 });

/** A tenant of its own, so its numbers are its test's alone. */
async function freshClient(name: string): Promise<Client<typeof InvoiceService>> {
  const fresh = await createApiKey(stack.database.db, `${name}-${keys++}`);
  return stack.client({ id: fresh.tenantId, apiKey: fresh.apiKey });
}

describe("credit notes", () => {
  it("credits a whole invoice: its lines and totals, the preceding invoice, the next number, the invoice's credited amount", async () => {
    const client = await freshClient("full");
    const { invoice } = await client.createInvoice(sampleInvoice({ orderReference: "PO-7" }));
    const { creditNote: note } = await client.createCreditNote(creditNote({ invoiceId: invoice!.id, issueDate: "2026-11-30" }));
    assert.equal(note!.documentType, DocumentType.CREDIT_NOTE);
    assert.equal(note!.number, invoice!.number + 1n);
    assert.deepEqual(
      { id: note!.precedingInvoice?.id, number: note!.precedingInvoice?.number, issueDate: note!.precedingInvoice?.issueDate },
      { id: invoice!.id, number: invoice!.number, issueDate: invoice!.issueDate },
    );
    assert.deepEqual(note!.lines, invoice!.lines);
    assert.deepEqual(
      [note!.subtotalMinor, note!.vatTotalMinor, note!.totalMinor],
      [invoice!.subtotalMinor, invoice!.vatTotalMinor, invoice!.totalMinor],
    );
    assert.deepEqual([note!.seller, note!.buyer, note!.orderReference], [invoice!.seller, invoice!.buyer, "PO-7"]);
    assert.equal(note!.note, "Goods returned");
    assert.equal(note!.issueDate, "2026-11-30");
    const credited = (await client.getInvoice({ id: invoice!.id })).invoice!;
    assert.equal(credited.creditedMinor, invoice!.totalMinor);
    assert.deepEqual(credited.creditNoteIds, [note!.id]);
    assert.deepEqual((await client.getInvoice({ id: note!.id })).invoice, note);
    const events = await stack.database.sql`select event_type from outbox where invoice_id = ${note!.id}`;
    assert.deepEqual(
      events.map((e) => e.event_type),
      ["invoice.issued"],
    );
  });

  it("credits part of an invoice, then refuses what would exceed its remaining amount, storing nothing", async () => {
    const client = await freshClient("partial");
    const { invoice } = await client.createInvoice(sampleInvoice());
    const line = { description: "Consulting, November: 1 hour not worked", quantity: 1n, unitPriceMinor: 15_000n, vatRateBp: 1900 };
    const { creditNote: note } = await client.createCreditNote(creditNote({ invoiceId: invoice!.id, lines: [line] }));
    assert.deepEqual([note!.subtotalMinor, note!.vatTotalMinor, note!.totalMinor], [15_000n, 2_850n, 17_850n]);
    assert.equal((await client.getInvoice({ id: invoice!.id })).invoice!.creditedMinor, 17_850n);
    // Issued events only: the consumer attaching documents meanwhile writes document_ready events.
    const issuedEvents = async () => (await stack.database.sql`select 1 from outbox where event_type = 'invoice.issued'`).length;
    const [invoices, outbox] = [await countRows(stack, "invoices"), await issuedEvents()];
    const full = await rejection(client.createCreditNote(creditNote({ invoiceId: invoice!.id })));
    assert.equal(full.code, Code.FailedPrecondition);
    assert.equal(reasonOf(full), "CREDIT_EXCEEDS_REMAINING");
    assert.deepEqual(preconditionTypes(full), ["CREDIT_WITHIN_REMAINING"]);
    assert.match(full.rawMessage, /remaining 38375 minor units/);
    assert.deepEqual([await countRows(stack, "invoices"), await issuedEvents()], [invoices, outbox]);
    const { invoice: next } = await client.createInvoice(sampleInvoice());
    assert.equal(next!.number, note!.number + 1n, "the refused credit note took no number");
  });

  it("never credits more than the total when credit notes race, and keeps the numbers gapless", async () => {
    const client = await freshClient("race");
    const { invoice } = await client.createInvoice(sampleInvoice({ lines: [zeroRated(10_000n)] }));
    const attempts = await Promise.allSettled(
      Array.from({ length: 12 }, () => client.createCreditNote(creditNote({ invoiceId: invoice!.id, lines: [zeroRated(3_000n)] }))),
    );
    const issued = attempts.flatMap((a) => (a.status === "fulfilled" ? [a.value.creditNote!] : []));
    const refused = attempts.flatMap((a) => (a.status === "rejected" ? [ConnectError.from(a.reason)] : []));
    assert.equal(issued.length, 3, "3 x 3,000 fit in 10,000, a fourth does not");
    assert.deepEqual(new Set(refused.map(reasonOf)), new Set(["CREDIT_EXCEEDS_REMAINING"]));
    const credited = (await client.getInvoice({ id: invoice!.id })).invoice!;
    assert.equal(credited.creditedMinor, 9_000n);
    assert.ok(credited.creditedMinor <= credited.totalMinor);
    assert.deepEqual(new Set(credited.creditNoteIds), new Set(issued.map((n) => n.id)));
    const { invoice: next } = await client.createInvoice(sampleInvoice());
    const { invoices } = await client.listInvoices({ pageSize: 100 });
    assert.deepEqual(
      invoices.map((i) => i.number),
      [5n, 4n, 3n, 2n, 1n],
      "invoice 1, credit notes 2-4, invoice 5",
    );
    assert.equal(next!.number, 5n);
  });

  it("answers a retry with the same credit note and creates nothing; the same key with another request is AlreadyExists", async () => {
    const client = stack.client(stack.tenantA);
    const { invoice } = await client.createInvoice(sampleInvoice());
    const request = creditNote({ invoiceId: invoice!.id, lines: [zeroRated(100n)] });
    const first = await client.createCreditNote(request);
    const [invoices, keysStored] = [await countRows(stack, "invoices"), await countRows(stack, "idempotency_keys")];
    const retries = await Promise.all([
      client.createCreditNote(request),
      client.createCreditNote(clone(CreateCreditNoteRequestSchema, request)),
    ]);
    // The same credit note as it is now (the consumer may have made its documents READY meanwhile).
    for (const retry of retries) assert.deepEqual({ ...retry.creditNote, documentStatus: 0 }, { ...first.creditNote, documentStatus: 0 });
    const changed = await rejection(client.createCreditNote({ ...request, reason: "Another reason" }));
    assert.equal(changed.code, Code.AlreadyExists);
    assert.equal(reasonOf(changed), "IDEMPOTENCY_KEY_REUSED");
    const asInvoice = await rejection(client.createInvoice(sampleInvoice({ idempotencyKey: request.idempotencyKey })));
    assert.equal(asInvoice.code, Code.AlreadyExists);
    assert.deepEqual([await countRows(stack, "invoices"), await countRows(stack, "idempotency_keys")], [invoices, keysStored]);
    assert.equal((await client.getInvoice({ id: invoice!.id })).invoice!.creditedMinor, 100n, "credited once");
  });

  it("treats another tenant's invoice as not found", async () => {
    const { invoice } = await stack.client(stack.tenantA).createInvoice(sampleInvoice());
    const err = await rejection(stack.client(stack.tenantB).createCreditNote(creditNote({ invoiceId: invoice!.id })));
    assert.equal(err.code, Code.NotFound);
    assert.equal(reasonOf(err), "INVOICE_NOT_FOUND");
    assert.equal((await stack.client(stack.tenantA).getInvoice({ id: invoice!.id })).invoice!.creditedMinor, 0n);
  });

  it("refuses to credit a void invoice or a credit note, and to void a credit note or a credited invoice", async () => {
    const client = stack.client(stack.tenantA);
    const { invoice: voided } = await client.createInvoice(sampleInvoice());
    await client.voidInvoice({ id: voided!.id, reason: "issued by mistake, never sent" });
    const ofVoid = await rejection(client.createCreditNote(creditNote({ invoiceId: voided!.id })));
    assert.deepEqual(
      [ofVoid.code, reasonOf(ofVoid), preconditionTypes(ofVoid)],
      [Code.FailedPrecondition, "INVOICE_NOT_CREDITABLE", ["CREDITED_NOT_VOID"]],
    );
    const { invoice } = await client.createInvoice(sampleInvoice());
    const { creditNote: note } = await client.createCreditNote(creditNote({ invoiceId: invoice!.id, lines: [zeroRated(1n)] }));
    const ofNote = await rejection(client.createCreditNote(creditNote({ invoiceId: note!.id })));
    assert.deepEqual(
      [ofNote.code, reasonOf(ofNote), preconditionTypes(ofNote)],
      [Code.FailedPrecondition, "INVOICE_NOT_CREDITABLE", ["CREDITED_IS_INVOICE"]],
    );
    for (const id of [note!.id, invoice!.id]) {
      const err = await rejection(client.voidInvoice({ id, reason: "wrong" }));
      assert.deepEqual([err.code, reasonOf(err)], [Code.FailedPrecondition, "INVOICE_NOT_VOIDABLE"]);
      assert.equal((await client.getInvoice({ id })).invoice!.status, InvoiceStatus.ISSUED);
    }
  });

  it("checks given lines by CreateInvoice's rules with their rule ids, and the reason and issue date", async () => {
    const client = stack.client(stack.tenantA);
    const { invoice } = await client.createInvoice(sampleInvoice());
    const before = await countRows(stack, "invoices");
    const exemptWithoutReason = { ...zeroRated(100n), vatCategory: VatCategory.EXEMPT };
    const err = await rejection(
      client.createCreditNote(creditNote({ invoiceId: invoice!.id, lines: [exemptWithoutReason], reason: "", issueDate: "2026-11-01" })),
    );
    assert.equal(err.code, Code.InvalidArgument);
    const violations = err.findDetails(BadRequestSchema).flatMap((b) => b.fieldViolations.map((v) => [v.field, v.description]));
    assert.deepEqual(
      violations.map(([field]) => field),
      ["reason"],
      "the reason is checked before the invoice is read",
    );
    const lines = await rejection(
      client.createCreditNote(creditNote({ invoiceId: invoice!.id, lines: [exemptWithoutReason], issueDate: "2026-11-01" })),
    );
    const found = lines.findDetails(BadRequestSchema).flatMap((b) => b.fieldViolations.map((v) => `${v.field}: ${v.description}`));
    assert.ok(
      found.some((v) => v.startsWith("lines[0].vat_exemption_reason:") && v.includes("(BR-E-10)")),
      found.join("; "),
    );
    assert.ok(
      found.some((v) => v.startsWith("issue_date:") && v.includes("(BT-26)")),
      found.join("; "),
    );
    const badId = await rejection(client.createCreditNote(creditNote({ invoiceId: "INV-1" })));
    assert.deepEqual(
      badId.findDetails(BadRequestSchema).flatMap((b) => b.fieldViolations.map((v) => v.field)),
      ["invoice_id"],
    );
    assert.equal(await countRows(stack, "invoices"), before);
  });

  it("tells watchers the invoice was credited: an InvoiceCredited event of the invoice, with its credited amount and the credit note", async (t) => {
    const client = await freshClient("credited-event");
    const { invoice } = await client.createInvoice(sampleInvoice());
    const watch = await watchInvoices(client);
    t.after(() => watch.close());
    const { creditNote: note } = await client.createCreditNote(creditNote({ invoiceId: invoice!.id, lines: [zeroRated(500n)] }));
    const events = await watch.until((es) => es.some((e) => e.kind.case === "credited"), 10_000);
    const credited = events.filter((e) => e.kind.case === "credited");
    assert.equal(credited.length, 1);
    assert.equal(credited[0]!.invoiceId, invoice!.id);
    assert.equal(credited[0]!.kind.case === "credited" && credited[0]!.kind.value.creditNoteId, note!.id);
    const shown = credited[0]!.kind.value!.invoice!;
    assert.equal(shown.creditedMinor, 500n);
    assert.deepEqual(shown.creditNoteIds, [note!.id]);
    assert.equal(shown.lines.length, invoice!.lines.length, "the invoice's lines travel with it, as in every other event");
    assert.ok(
      events.some((e) => e.kind.case === "issued" && e.invoiceId === note!.id),
      "the credit note's own issued event",
    );
  });

  it("renders the credit note's PDF, DOCX and Factur-X XML (381, the credited invoice's number) until READY", async (t) => {
    const client = stack.client(stack.tenantA);
    const { invoice } = await client.createInvoice(sampleInvoice());
    const watch = await watchInvoices(client);
    t.after(() => watch.close());
    const { creditNote: note } = await client.createCreditNote(creditNote({ invoiceId: invoice!.id }));
    await watch.until((es) => es.some((e) => e.kind.case === "documentReady" && e.invoiceId === note!.id), 60_000);
    assert.equal((await client.getInvoice({ id: note!.id })).invoice!.documentStatus, DocumentStatus.READY);
    const pdf = new Uint8Array((await client.getInvoiceDocument({ id: note!.id, format: DocumentFormat.PDF })).content);
    const { text } = await extractText(await getDocumentProxy(pdf.slice()), { mergePages: true });
    assert.match(text, new RegExp(`Credit Note No\\. ${note!.number}`));
    assert.match(text, new RegExp(`Credited invoice No\\. ${invoice!.number} of ${invoice!.issueDate}`));
    const attachments = (await (await getDocumentProxy(pdf.slice())).getAttachments()) as Record<string, { content: Uint8Array }>;
    const xml = new TextDecoder().decode(attachments["factur-x.xml"]!.content);
    assert.match(xml, /<ram:TypeCode>381<\/ram:TypeCode>/);
    assert.match(xml, new RegExp(`<ram:InvoiceReferencedDocument>\\s*<ram:IssuerAssignedID>${invoice!.number}</ram:IssuerAssignedID>`));
    const docx = (await client.getInvoiceDocument({ id: note!.id, format: DocumentFormat.DOCX })).content;
    assert.match(strFromU8(unzipSync(docx)["word/document.xml"]!), new RegExp(`Credit Note No\\. ${note!.number}`));
  });
});
