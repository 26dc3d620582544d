// The structural bounds the proto declares with buf.validate: what a client's protovalidate refuses,
// the server refuses too, at the same field paths, and the domain's bounds are the proto's.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { pathToString } from "@bufbuild/protobuf/reflect";
import { createValidator } from "@bufbuild/protovalidate";
import { CreateCreditNoteRequestSchema, CreateInvoiceRequestSchema, LineInputSchema, type CreateInvoiceRequest } from "@invoicer/sdk";
import { sampleInvoice } from "@invoicer/devstack/samples";
import { protoViolations } from "../../server/src/domain/proto-rules.ts";
import { einvoiceLimits } from "../../server/src/domain/validate-einvoice.ts";
import { limits, validateCreateInvoice } from "../../server/src/domain/validate-invoice.ts";

/** The fields a client validating with protovalidate (as an SDK user can) is told are wrong. */
function clientRefuses(request: CreateInvoiceRequest): string[] {
  const result = createValidator().validate(CreateInvoiceRequestSchema, request);
  return result.kind === "invalid" ? result.violations.map((v) => pathToString(v.field)).sort() : [];
}

/** Every free-text field one character past its declared bound. */
function overBounds(): CreateInvoiceRequest {
  const over = (n: number) => "x".repeat(n + 1);
  const request = sampleInvoice({ note: over(limits.note), buyerReference: over(einvoiceLimits.reference) });
  request.seller!.name = over(limits.name);
  request.buyer!.address!.city = over(limits.city);
  request.lines[0]!.description = over(limits.description);
  request.lines[0]!.vatRateBp = limits.vatRateBp + 1;
  request.lines[1]!.quantity = limits.quantity + 1n;
  return request;
}

describe("structural bounds declared in the proto", () => {
  it("names a list past its max_items once and checks only its first max_items elements", () => {
    const lines = Array.from({ length: 100_000 }, () => create(LineInputSchema));
    const request = create(CreateCreditNoteRequestSchema, { idempotencyKey: "k", invoiceId: "i", reason: "r", lines });
    const violations = protoViolations(CreateCreditNoteRequestSchema, request);
    assert.deepEqual(violations[0], { field: "lines", description: "must contain no more than 100 item(s) (repeated.max_items)" });
    assert.ok(violations.length <= 1 + 100 * 2, `${violations.length} violations`);
    assert.ok(
      violations.slice(1).every((v) => /^lines\[(\d|\d\d)\]\./.test(v.field)),
      "only the first 100 lines are checked",
    );
  });

  it("accepts the sample invoice on both sides", () => {
    assert.deepEqual(clientRefuses(sampleInvoice()), []);
    assert.deepEqual(validateCreateInvoice(sampleInvoice()), []);
  });

  it("refuses one past each bound on the client (protovalidate) and on the server, at the same fields", () => {
    const request = overBounds();
    const expected = [
      "buyer.address.city",
      "buyer_reference",
      "lines[0].description",
      "lines[0].vat_rate_bp",
      "lines[1].quantity",
      "note",
      "seller.name",
    ];
    assert.deepEqual(clientRefuses(request), expected);
    assert.deepEqual(
      validateCreateInvoice(request)
        .map((v) => v.field)
        .sort(),
      expected,
    );
  });

  it("declares a credit note's bound of 100 lines, which the server enforces through protovalidate alone", () => {
    const lines = Array.from({ length: 101 }, () => sampleInvoice().lines[0]!);
    const request = create(CreateCreditNoteRequestSchema, { idempotencyKey: "k", invoiceId: crypto.randomUUID(), reason: "r", lines });
    const result = createValidator().validate(CreateCreditNoteRequestSchema, request);
    assert.equal(result.kind, "invalid");
    assert.deepEqual(result.kind === "invalid" && result.violations.map((v) => `${pathToString(v.field)} ${v.ruleId}`), [
      "lines repeated.max_items",
    ]);
  });
});
