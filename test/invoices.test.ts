import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { clone, create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import {
  ContactSchema,
  CreateInvoiceRequestSchema,
  DocumentStatus,
  DocumentType,
  ElectronicAddressSchema,
  FieldViolationsSchema,
  InvoiceService,
  InvoiceStatus,
  LineInputSchema,
  PaymentInstructionsSchema,
  VatCategory,
  type CreateInvoiceRequest,
} from "@invoicer/sdk";
import { BadRequestSchema, ErrorInfoSchema } from "@invoicer/sdk/google/rpc/error_details_pb";
import { sampleInvoice } from "@invoicer/devstack/samples";
import { bearer, countRows, startStack, type Stack } from "./support/stack.ts";

let stack: Stack;
before(async () => {
  stack = await startStack();
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

describe("issuing invoices", () => {
  it("issues an invoice with server-computed totals and VAT per rate", async () => {
    const client = stack.client(stack.tenantA);
    const { invoice } = await client.createInvoice(sampleInvoice());
    assert.ok(invoice);
    assert.match(invoice.id, /^[0-9a-f-]{36}$/);
    assert.equal(invoice.status, InvoiceStatus.ISSUED);
    assert.equal(invoice.documentStatus, DocumentStatus.PENDING);
    assert.deepEqual(
      invoice.lines.map((l) => l.netMinor),
      [45_000n, 2_500n],
    );
    assert.deepEqual(
      invoice.vatBreakdown.map((b) => [b.vatRateBp, b.taxableMinor, b.vatMinor]),
      [
        [700, 2_500n, 175n],
        [1900, 45_000n, 8_550n],
      ],
    );
    assert.equal(invoice.subtotalMinor, 47_500n);
    assert.equal(invoice.vatTotalMinor, 8_725n);
    assert.equal(invoice.totalMinor, 56_225n);
    assert.equal(invoice.issueDate, "2026-11-24");
    assert.equal(invoice.supplyDate, "2026-11-24");
    assert.equal(invoice.dueDate, "2026-12-24");
    assert.equal(invoice.seller?.vatId, "DE123456789");
    const fetched = await client.getInvoice({ id: invoice.id });
    assert.deepEqual(fetched.invoice, invoice);
  });

  it("writes one outbox row in the same transaction as the invoice", async () => {
    const { invoice } = await stack.client(stack.tenantA).createInvoice(sampleInvoice());
    const rows = await stack.database.sql`select event_type from outbox where invoice_id = ${invoice!.id}`;
    assert.deepEqual(
      rows.map((r) => r.event_type),
      ["invoice.issued"],
    );
  });

  it("gives 200 concurrent creates of one tenant the numbers 1..200 with no gap or duplicate", async () => {
    const fresh = await import("../server/src/api-key-admin.ts").then((m) => m.createApiKey(stack.database.db, "concurrent"));
    const client = stack.client({ id: fresh.tenantId, apiKey: fresh.apiKey });
    const results = await Promise.all(Array.from({ length: 200 }, () => client.createInvoice(sampleInvoice())));
    const numbers = results.map((r) => Number(r.invoice!.number)).sort((a, b) => a - b);
    assert.deepEqual(
      numbers,
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
  });

  it("returns the same invoice for a retry with the same key and creates nothing", async () => {
    const client = stack.client(stack.tenantA);
    const request = sampleInvoice();
    const first = await client.createInvoice(request);
    const before = await countRows(stack, "invoices");
    const retries = await Promise.all([client.createInvoice(request), client.createInvoice(clone(CreateInvoiceRequestSchema, request))]);
    for (const retry of retries) assert.deepEqual(retry.invoice, first.invoice);
    assert.equal(await countRows(stack, "invoices"), before);
  });

  it("settles concurrent first attempts with one key into one invoice", async () => {
    const client = stack.client(stack.tenantA);
    const request = sampleInvoice();
    const before = await countRows(stack, "invoices");
    const results = await Promise.all(Array.from({ length: 10 }, () => client.createInvoice(request)));
    assert.equal(new Set(results.map((r) => r.invoice!.id)).size, 1);
    assert.equal(await countRows(stack, "invoices"), before + 1);
  });

  it("rejects a retry with the same key and another body, storing nothing", async () => {
    const client = stack.client(stack.tenantA);
    const request = sampleInvoice();
    await client.createInvoice(request);
    const before = await countRows(stack, "invoices");
    const changed = clone(CreateInvoiceRequestSchema, request);
    changed.lines[0]!.quantity = 4n;
    const err = await rejection(client.createInvoice(changed));
    assert.equal(err.code, Code.AlreadyExists);
    assert.match(err.rawMessage, /^idempotency_key:/);
    assert.deepEqual(
      err.findDetails(ErrorInfoSchema).map(({ reason, domain }) => ({ reason, domain })),
      [{ reason: "IDEMPOTENCY_KEY_REUSED", domain: "invoicer.v1" }],
    );
    assert.equal(await countRows(stack, "invoices"), before);
  });

  it("keeps the same key apart between tenants", async () => {
    const request = sampleInvoice();
    const a = await stack.client(stack.tenantA).createInvoice(request);
    const b = await stack.client(stack.tenantB).createInvoice(request);
    assert.notEqual(a.invoice!.id, b.invoice!.id);
  });

  it("consumes no number when a create fails inside its transaction", async () => {
    const client = stack.client(stack.tenantB);
    const { invoice: last } = await client.createInvoice(sampleInvoice());
    const lock = stack.database.sql.reserve();
    const conn = await lock;
    await conn`begin`;
    await conn`select * from invoice_counters where tenant_id = ${stack.tenantB.id} for update`;
    // The create waits on the counter row until its deadline passes, then must roll back. The
    // server's deadline is set shorter than the client's, so it has surely passed when the lock goes.
    const shortDeadline: Interceptor = (next) => (req) => (req.header.set("connect-timeout-ms", "100"), next(req));
    const impatient = createClient(
      InvoiceService,
      createConnectTransport({
        baseUrl: stack.gatewayUrl,
        httpVersion: "1.1",
        interceptors: [bearer(stack.tenantB.apiKey), shortDeadline],
      }),
    );
    const doomed = sampleInvoice();
    const err = await rejection(impatient.createInvoice(doomed, { timeoutMs: 300 }));
    assert.equal(err.code, Code.DeadlineExceeded);
    await conn`commit`;
    conn.release();
    const { invoice: next } = await client.createInvoice(sampleInvoice());
    assert.equal(next!.number, last!.number + 1n);
    const stored = await stack.database.sql`select 1 from idempotency_keys where key = ${doomed.idempotencyKey}`;
    assert.equal(stored.length, 0);
  });
});

/** sampleInvoice with every EN 16931 field of issue 31 set. */
function einvoiceRequest(): CreateInvoiceRequest {
  const request = sampleInvoice({
    buyerReference: "04011000-12345-03",
    orderReference: "PO-4711",
    payment: {
      meansCode: "58",
      iban: "DE89370400440532013000",
      bic: "COBADEFFXXX",
      remittance: "RF18 5390 0754 7034",
      terms: "30 days net",
    },
    deliveryAddress: { street: "Lager 3", city: "Potsdam", postalCode: "14467", countryCode: "DE" },
  });
  request.seller!.electronicAddress = create(ElectronicAddressSchema, { scheme: "9930", id: "DE123456789" });
  request.seller!.contact = create(ContactSchema, { name: "Erika Mustermann", phone: "+49 30 1234567", email: "billing@acme.example" });
  request.seller!.legalRegistrationId = "HRB 123456 B";
  request.buyer!.electronicAddress = create(ElectronicAddressSchema, { scheme: "EM", id: "ap@globex.example" });
  Object.assign(request.lines[0]!, { quantity: 0n, quantityDecimal: "1.5", unitCode: "HUR", unitPriceMinor: 3_333n });
  Object.assign(request.lines[1]!, {
    vatRateBp: 0,
    vatCategory: VatCategory.EXEMPT,
    vatExemptionReason: "Exempt: education",
    vatExemptionReasonCode: "VATEX-EU-132-1I",
  });
  return request;
}

describe("EN 16931 fields", () => {
  it("stores every field and returns it from create, get and list", async () => {
    const client = stack.client(stack.tenantA);
    const request = einvoiceRequest();
    const { invoice } = await client.createInvoice(request);
    assert.ok(invoice);
    assert.deepEqual(invoice.seller, request.seller);
    assert.deepEqual(invoice.buyer, request.buyer);
    assert.equal(invoice.buyerReference, "04011000-12345-03");
    assert.equal(invoice.orderReference, "PO-4711");
    assert.deepEqual(invoice.payment, request.payment);
    assert.deepEqual(invoice.deliveryAddress, request.deliveryAddress);
    assert.equal(invoice.documentType, DocumentType.INVOICE);
    const [decimal, exempt] = invoice.lines;
    assert.deepEqual(
      [decimal!.quantity, decimal!.quantityDecimal, decimal!.unitCode, decimal!.vatCategory, decimal!.netMinor],
      [0n, "1.5", "HUR", VatCategory.STANDARD, 5_000n], // 1.5 × 33.33 = 49.995 -> 50.00
    );
    assert.deepEqual(
      [exempt!.unitCode, exempt!.vatCategory, exempt!.vatExemptionReason, exempt!.vatExemptionReasonCode],
      ["C62", VatCategory.EXEMPT, "Exempt: education", "VATEX-EU-132-1I"],
    );
    assert.deepEqual((await client.getInvoice({ id: invoice.id })).invoice, invoice);
    const listed = await client.listInvoices({ pageSize: 100 });
    assert.deepEqual(
      listed.invoices.find((i) => i.id === invoice.id),
      invoice,
    );
  });

  it("defaults the unit to C62, the category to S or Z by rate, the remittance to the number and no delivery address", async () => {
    const request = sampleInvoice({ payment: { meansCode: "58", iban: "DE89370400440532013000" } });
    request.lines[1]!.vatRateBp = 0;
    const { invoice } = await stack.client(stack.tenantA).createInvoice(request);
    assert.deepEqual(
      invoice!.lines.map((l) => [l.unitCode, l.vatCategory, l.quantityDecimal]),
      [
        ["C62", VatCategory.STANDARD, ""],
        ["C62", VatCategory.ZERO_RATED, ""],
      ],
    );
    assert.equal(invoice!.payment?.remittance, invoice!.number.toString());
    assert.equal(invoice!.deliveryAddress, undefined);
    assert.equal(invoice!.documentType, DocumentType.INVOICE);
  });

  it("delivers an intra-community supply to the buyer's address when none is given (BR-IC-12)", async () => {
    const request = sampleInvoice();
    Object.assign(request.lines[1]!, { vatRateBp: 0, vatCategory: VatCategory.INTRA_COMMUNITY, vatExemptionReasonCode: "VATEX-EU-IC" });
    const { invoice } = await stack.client(stack.tenantA).createInvoice(request);
    assert.deepEqual(invoice!.deliveryAddress, request.buyer!.address);
  });

  it("keys the VAT breakdown by category and rate, with each category's exemption reason", async () => {
    const request = einvoiceRequest();
    request.lines.push(create(LineInputSchema, { description: "Books", quantity: 1n, unitPriceMinor: 700n, vatRateBp: 0 }));
    const { invoice } = await stack.client(stack.tenantA).createInvoice(request);
    assert.deepEqual(
      invoice!.vatBreakdown.map((b) => [b.vatCategory, b.vatRateBp, b.taxableMinor, b.vatMinor, b.vatExemptionReasonCode]),
      [
        [VatCategory.EXEMPT, 0, 2_500n, 0n, "VATEX-EU-132-1I"],
        [VatCategory.ZERO_RATED, 0, 700n, 0n, ""],
        [VatCategory.STANDARD, 1900, 5_000n, 950n, ""],
      ],
    );
    assert.equal(invoice!.totalMinor, 2_500n + 700n + 5_000n + 950n);
  });

  it("answers a retry with the same key with the first invoice and creates nothing twice", async () => {
    const client = stack.client(stack.tenantA);
    const request = einvoiceRequest();
    const first = await client.createInvoice(request);
    const counts = async () => [await countRows(stack, "invoices"), await countRows(stack, "invoice_lines")];
    const before = await counts();
    const retries = await Promise.all([client.createInvoice(request), client.createInvoice(clone(CreateInvoiceRequestSchema, request))]);
    for (const retry of retries) assert.deepEqual(retry.invoice, first.invoice);
    assert.deepEqual(await counts(), before);
    const changed = clone(CreateInvoiceRequestSchema, request);
    changed.lines[0]!.quantityDecimal = "1.25";
    assert.equal((await rejection(client.createInvoice(changed))).code, Code.AlreadyExists);
    assert.deepEqual(await counts(), before);
  });
});

describe("validation", () => {
  const cases: [string, (r: CreateInvoiceRequest) => void, string][] = [
    ["missing idempotency key", (r) => (r.idempotencyKey = ""), "idempotency_key"],
    ["overlong idempotency key", (r) => (r.idempotencyKey = "k".repeat(129)), "idempotency_key"],
    ["idempotency key with a space", (r) => (r.idempotencyKey = "a b"), "idempotency_key"],
    ["missing currency", (r) => (r.currencyCode = ""), "currency_code"],
    ["unknown currency", (r) => (r.currencyCode = "XYZ"), "currency_code"],
    ["lower-case currency", (r) => (r.currencyCode = "eur"), "currency_code"],
    ["missing seller", (r) => (r.seller = undefined), "seller"],
    ["missing seller name", (r) => (r.seller!.name = " "), "seller.name"],
    ["overlong seller name", (r) => (r.seller!.name = "n".repeat(201)), "seller.name"],
    ["control character in a name", (r) => (r.seller!.name = "Acme\u0000"), "seller.name"],
    ["missing seller VAT id", (r) => (r.seller!.vatId = ""), "seller.vat_id"],
    ["malformed seller VAT id", (r) => (r.seller!.vatId = "123"), "seller.vat_id"],
    ["malformed buyer VAT id", (r) => (r.buyer!.vatId = "de 1"), "buyer.vat_id"],
    ["missing seller address", (r) => (r.seller!.address = undefined), "seller.address"],
    ["missing street", (r) => (r.seller!.address!.street = ""), "seller.address.street"],
    ["missing city", (r) => (r.buyer!.address!.city = ""), "buyer.address.city"],
    ["overlong postal code", (r) => (r.buyer!.address!.postalCode = "1".repeat(21)), "buyer.address.postal_code"],
    ["missing country", (r) => (r.buyer!.address!.countryCode = ""), "buyer.address.country_code"],
    ["unknown country", (r) => (r.buyer!.address!.countryCode = "XX"), "buyer.address.country_code"],
    ["missing buyer", (r) => (r.buyer = undefined), "buyer"],
    ["missing buyer name", (r) => (r.buyer!.name = ""), "buyer.name"],
    ["no lines", (r) => (r.lines = []), "lines"],
    ["too many lines", (r) => (r.lines = Array.from({ length: 101 }, () => r.lines[0]!)), "lines"],
    ["missing description", (r) => (r.lines[1]!.description = ""), "lines[1].description"],
    ["overlong description", (r) => (r.lines[0]!.description = "d".repeat(501)), "lines[0].description"],
    ["zero quantity", (r) => (r.lines[0]!.quantity = 0n), "lines[0].quantity"],
    ["negative quantity", (r) => (r.lines[1]!.quantity = -1n), "lines[1].quantity"],
    ["huge quantity", (r) => (r.lines[0]!.quantity = 1_000_000_001n), "lines[0].quantity"],
    ["negative unit price", (r) => (r.lines[0]!.unitPriceMinor = -1n), "lines[0].unit_price_minor"],
    ["negative VAT rate", (r) => (r.lines[0]!.vatRateBp = -1), "lines[0].vat_rate_bp"],
    ["VAT rate over 100 %", (r) => (r.lines[0]!.vatRateBp = 10_001), "lines[0].vat_rate_bp"],
    ["line amount over int64", (r) => (r.lines[0]!.unitPriceMinor = 2n ** 62n), "lines[0]"],
    ["sum over int64", (r) => r.lines.forEach((l) => ((l.quantity = 1n), (l.unitPriceMinor = 2n ** 63n - 1n))), "lines"],
    ["malformed issue date", (r) => (r.issueDate = "24.11.2026"), "issue_date"],
    ["impossible due date", (r) => (r.dueDate = "2026-02-30"), "due_date"],
    ["malformed supply date", (r) => (r.supplyDate = "2026-1-1"), "supply_date"],
    ["due date before issue date", (r) => (r.dueDate = "2026-11-01"), "due_date"],
    ["overlong note", (r) => (r.note = "n".repeat(2001)), "note"],
    // Characters XML 1.0 cannot hold: the DOCX would be unreadable.
    ["U+FFFE in a description", (r) => (r.lines[0]!.description = "Widget \uFFFE"), "lines[0].description"],
    ["U+FFFF in a note", (r) => (r.note = "\uFFFF"), "note"],
    // EN 16931 fields (issue 31).
    [
      "an IBAN failing its checksum",
      (r) => (r.payment = create(PaymentInstructionsSchema, { meansCode: "58", iban: "DE89370400440532013001" })),
      "payment.iban",
    ],
    [
      "an unknown EAS scheme",
      (r) => (r.buyer!.electronicAddress = create(ElectronicAddressSchema, { scheme: "XX", id: "x" })),
      "buyer.electronic_address.scheme",
    ],
    [
      "an unknown VATEX code",
      (r) => Object.assign(r.lines[0]!, { vatRateBp: 0, vatCategory: VatCategory.EXEMPT, vatExemptionReasonCode: "VATEX-XX" }),
      "lines[0].vat_exemption_reason_code",
    ],
    [
      "a decimal quantity with 5 places",
      (r) => Object.assign(r.lines[0]!, { quantity: 0n, quantityDecimal: "1.00001" }),
      "lines[0].quantity_decimal",
    ],
    [
      "a decimal quantity that is no number",
      (r) => Object.assign(r.lines[0]!, { quantity: 0n, quantityDecimal: "one" }),
      "lines[0].quantity_decimal",
    ],
    [
      "an exemption without a reason",
      (r) => Object.assign(r.lines[0]!, { vatRateBp: 0, vatCategory: VatCategory.EXPORT }),
      "lines[0].vat_exemption_reason",
    ],
    [
      "an intra-community supply at 19 %",
      (r) => Object.assign(r.lines[0]!, { vatCategory: VatCategory.INTRA_COMMUNITY, vatExemptionReasonCode: "VATEX-EU-IC" }),
      "lines[0].vat_rate_bp",
    ],
    [
      "reverse charge without the buyer's VAT id",
      (r) => (
        Object.assign(r.lines[0]!, { vatRateBp: 0, vatCategory: VatCategory.REVERSE_CHARGE, vatExemptionReasonCode: "VATEX-EU-AE" }),
        (r.buyer!.vatId = "")
      ),
      "buyer.vat_id",
    ],
  ];
  for (const kind of ["connect-json", "grpc"] as const) {
    it(`carries google.rpc.BadRequest and ErrorInfo over ${kind}`, async () => {
      const request = sampleInvoice({ currencyCode: "XYZ" });
      request.lines[1]!.quantity = 0n;
      const transport =
        kind === "grpc"
          ? createGrpcTransport({ baseUrl: stack.gatewayUrl, interceptors: [bearer(stack.tenantA.apiKey)] })
          : createConnectTransport({ baseUrl: stack.gatewayUrl, httpVersion: "1.1", interceptors: [bearer(stack.tenantA.apiKey)] });
      const err = await rejection(createClient(InvoiceService, transport).createInvoice(request));
      assert.equal(err.code, Code.InvalidArgument);
      const [badRequest] = err.findDetails(BadRequestSchema);
      assert.deepEqual(
        badRequest?.fieldViolations.map((v) => v.field),
        ["currency_code", "lines[1].quantity"],
      );
      const [info] = err.findDetails(ErrorInfoSchema);
      assert.deepEqual(
        { reason: info?.reason, domain: info?.domain, field: info?.metadata.field },
        {
          reason: "VALIDATION_FAILED",
          domain: "invoicer.v1",
          field: "currency_code",
        },
      );
      // Kept for one release alongside BadRequest.
      assert.equal(err.findDetails(FieldViolationsSchema)[0]?.violations.length, 2);
    });
  }

  it("refuses text the invoice PDF cannot print, naming each field and character, and creates nothing", async () => {
    const request = sampleInvoice();
    request.lines.push(...request.lines.map((l) => clone(LineInputSchema, l)));
    request.lines[3]!.description = "Übersetzung 漢字";
    request.buyer!.name = "شركة المثال";
    const before = await countRows(stack, "invoices");
    const err = await rejection(stack.client(stack.tenantA).createInvoice(request));
    assert.equal(err.code, Code.InvalidArgument, err.message);
    assert.deepEqual(
      err.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => ({ field: v.field, description: v.description }))),
      [
        { field: "buyer.name", description: "cannot print U+0634 (ش): the invoice PDF cannot lay out right-to-left text" },
        { field: "lines[3].description", description: "cannot print U+6F22 (漢): the invoice PDF's fonts have no glyph for it" },
      ],
    );
    assert.equal(await countRows(stack, "invoices"), before);
    // The key was not spent: the same request in text the PDF prints is created.
    request.lines[3]!.description = "Übersetzung (Kanji)";
    request.buyer!.name = "Sharikat al-Mithal";
    const { invoice } = await stack.client(stack.tenantA).createInvoice(request);
    assert.equal(invoice?.lines[3]?.description, "Übersetzung (Kanji)");
  });

  for (const [name, mutate, field] of cases) {
    it(`rejects ${name} as InvalidArgument naming ${field}, storing nothing`, async () => {
      const request = sampleInvoice();
      mutate(request);
      const before = await countRows(stack, "invoices");
      const err = await rejection(stack.client(stack.tenantA).createInvoice(request));
      assert.equal(err.code, Code.InvalidArgument, err.message);
      const fields = err.findDetails(FieldViolationsSchema).flatMap((d) => d.violations.map((v) => v.field));
      assert.ok(fields.includes(field), `${field} not in ${fields.join(", ")}`);
      assert.ok(err.rawMessage.startsWith(`${fields[0]}: `), err.rawMessage);
      const badRequest = err.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field));
      assert.deepEqual(badRequest, fields, "google.rpc.BadRequest names the same paths as FieldViolations");
      assert.equal(err.findDetails(ErrorInfoSchema)[0]?.reason, "VALIDATION_FAILED");
      assert.equal(await countRows(stack, "invoices"), before);
    });
  }
});

describe("status changes", () => {
  it("pays an issued invoice once, answers a retried pay with the paid invoice, and refuses to void it", async () => {
    const client = stack.client(stack.tenantA);
    const { invoice } = await client.createInvoice(sampleInvoice());
    const paid = await client.payInvoice({ id: invoice!.id });
    assert.equal(paid.invoice!.status, InvoiceStatus.PAID);
    assert.ok(paid.invoice!.payTime);
    // A retry after a lost answer gets what the first call got, and changes nothing.
    const again = await client.payInvoice({ id: invoice!.id });
    assert.deepEqual(again.invoice, paid.invoice);
    const err = await rejection(client.voidInvoice({ id: invoice!.id }));
    assert.equal(err.code, Code.FailedPrecondition);
    assert.match(err.rawMessage, /is PAID/);
    const events = await stack.database.sql`select event_type from outbox where invoice_id = ${invoice!.id} order by created_at`;
    assert.deepEqual(
      events.map((e) => e.event_type),
      ["invoice.issued", "invoice.paid"],
    );
  });

  it("voids an issued invoice with its reason, answers the same void again, and refuses another reason or a pay", async () => {
    const client = stack.client(stack.tenantA);
    const { invoice } = await client.createInvoice(sampleInvoice());
    const voided = await client.voidInvoice({ id: invoice!.id, reason: "issued twice by mistake" });
    assert.equal(voided.invoice!.status, InvoiceStatus.VOID);
    assert.equal(voided.invoice!.voidReason, "issued twice by mistake");
    assert.deepEqual((await client.voidInvoice({ id: invoice!.id, reason: "issued twice by mistake" })).invoice, voided.invoice);
    const otherReason = await rejection(client.voidInvoice({ id: invoice!.id, reason: "another reason" }));
    assert.equal(otherReason.code, Code.FailedPrecondition);
    assert.match(otherReason.rawMessage, /is VOID/);
    assert.equal((await rejection(client.payInvoice({ id: invoice!.id }))).code, Code.FailedPrecondition);
    const events = await stack.database.sql`select event_type from outbox where invoice_id = ${invoice!.id} order by created_at`;
    assert.deepEqual(
      events.map((e) => e.event_type),
      ["invoice.issued", "invoice.voided"],
    );
  });

  it("rejects a malformed id and an unknown id", async () => {
    const client = stack.client(stack.tenantA);
    const bad = await rejection(client.getInvoice({ id: "1 or 1=1" }));
    assert.equal(bad.code, Code.InvalidArgument);
    assert.match(bad.rawMessage, /^id:/);
    const missing = await rejection(client.payInvoice({ id: "00000000-0000-4000-8000-000000000000" }));
    assert.equal(missing.code, Code.NotFound);
  });
});

describe("tenant isolation", () => {
  it("treats another tenant's invoice as not found for get, pay and void, and never lists it", async () => {
    const { invoice } = await stack.client(stack.tenantA).createInvoice(sampleInvoice());
    const intruder = stack.client(stack.tenantB);
    for (const call of [
      () => intruder.getInvoice({ id: invoice!.id }),
      () => intruder.payInvoice({ id: invoice!.id }),
      () => intruder.voidInvoice({ id: invoice!.id }),
    ]) {
      assert.equal((await rejection(call())).code, Code.NotFound);
    }
    let token = "";
    do {
      const page = await intruder.listInvoices({ pageSize: 100, pageToken: token });
      assert.ok(page.invoices.every((i) => i.id !== invoice!.id));
      token = page.nextPageToken;
    } while (token);
    const still = await stack.client(stack.tenantA).getInvoice({ id: invoice!.id });
    assert.equal(still.invoice!.status, InvoiceStatus.ISSUED);
  });
});

describe("listing", () => {
  it("holds at most 1,000 invoice lines in a page: fewer invoices than page_size, and the token goes on from there", async () => {
    const fresh = await import("../server/src/api-key-admin.ts").then((m) => m.createApiKey(stack.database.db, "large lister"));
    const client = stack.client({ id: fresh.tenantId, apiKey: fresh.apiKey });
    const lines = Array.from({ length: 100 }, (_, i) => ({
      description: `line ${i}`,
      quantity: 1n,
      unitPriceMinor: 100n,
      vatRateBp: 1900,
    }));
    for (let i = 0; i < 25; i++) await client.createInvoice(sampleInvoice({ lines: i === 0 ? lines.slice(0, 1) : lines }));
    const numbers: bigint[] = [];
    const pageSizes: number[] = [];
    let token = "";
    do {
      const page = await client.listInvoices({ pageSize: 100, pageToken: token });
      const lines = page.invoices.reduce((n, invoice) => n + invoice.lines.length, 0);
      assert.ok(lines <= 1_000, `a page of ${page.invoices.length} invoices, ${lines} lines`);
      pageSizes.push(page.invoices.length);
      numbers.push(...page.invoices.map((i) => i.number));
      token = page.nextPageToken;
    } while (token);
    assert.deepEqual(pageSizes, [10, 10, 5]);
    assert.deepEqual(
      numbers,
      Array.from({ length: 25 }, (_, i) => BigInt(25 - i)),
    );
  });

  it("pages newest first with a cursor and filters by status", async () => {
    const fresh = await import("../server/src/api-key-admin.ts").then((m) => m.createApiKey(stack.database.db, "lister"));
    const client = stack.client({ id: fresh.tenantId, apiKey: fresh.apiKey });
    const created = [];
    for (let i = 0; i < 5; i++) created.push((await client.createInvoice(sampleInvoice())).invoice!);
    await client.payInvoice({ id: created[1]!.id });
    const first = await client.listInvoices({ pageSize: 2 });
    assert.deepEqual(
      first.invoices.map((i) => i.number),
      [5n, 4n],
    );
    const second = await client.listInvoices({ pageSize: 2, pageToken: first.nextPageToken });
    assert.deepEqual(
      second.invoices.map((i) => i.number),
      [3n, 2n],
    );
    const third = await client.listInvoices({ pageSize: 2, pageToken: second.nextPageToken });
    assert.deepEqual(
      third.invoices.map((i) => i.number),
      [1n],
    );
    assert.equal(third.nextPageToken, "");
    const paid = await client.listInvoices({ status: InvoiceStatus.PAID });
    assert.deepEqual(
      paid.invoices.map((i) => i.id),
      [created[1]!.id],
    );
    assert.equal(paid.invoices[0]!.lines.length, 2);
  });

  it("rejects a bad page size, page token and status", async () => {
    const client = stack.client(stack.tenantA);
    for (const [req, field] of [
      [{ pageSize: 101 }, "page_size"],
      [{ pageSize: -1 }, "page_size"],
      [{ pageToken: "garbage" }, "page_token"],
      [{ status: 42 as InvoiceStatus }, "status"],
    ] as const) {
      const err = await rejection(client.listInvoices(req));
      assert.equal(err.code, Code.InvalidArgument);
      assert.match(err.rawMessage, new RegExp(`^${field}:`));
    }
  });
});
