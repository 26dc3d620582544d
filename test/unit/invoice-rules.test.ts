// Fast tests of the invoice service's rules on connect's in-memory router transport: every case
// here is refused before the database, so none needs one (a database that is touched fails the test).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { FieldViolationsSchema, InvoiceService, type InvoiceStatus } from "@invoicer/sdk";
import { BadRequestSchema, ErrorInfoSchema } from "@invoicer/sdk/google/rpc/error_details_pb";
import { internalTokenHeader, tenantHeader } from "@invoicer/platform/internal-auth";
import { createLogger } from "@invoicer/platform/logger";
import { startObservability } from "@invoicer/platform/observability";
import type { Db } from "../../server/src/db/client.ts";
import { creditNoteIssuer } from "../../server/src/invoices/credit-note-service.ts";
import { invoiceService } from "../../server/src/invoices/invoice-service.ts";
import type { InvoiceWatch } from "../../server/src/invoices/watch.ts";
import { trustedCallers } from "../../server/src/rpc/callers.ts";
import { errorBoundary } from "../../server/src/rpc/errors.ts";
import { sampleInvoice } from "@invoicer/devstack/samples";

const token = "unit-test-internal-token-0123456789";
const tenant = "11111111-1111-4111-8111-111111111111";
/** A database the rules must never reach: any use of it fails the call, and so the test. */
const untouchable = new Proxy({} as Db, {
  get: (_target, name) => {
    throw new Error(`the database was used (${String(name)})`);
  },
});
const { tracer } = startObservability("unit", { serviceName: "unit" });
const transport = createRouterTransport(
  (router) =>
    router.service(InvoiceService, {
      ...invoiceService(untouchable, {} as InvoiceWatch, tracer),
      createCreditNote: creditNoteIssuer(untouchable, tracer),
    }),
  {
    router: { interceptors: [errorBoundary(createLogger("unit", "silent")), trustedCallers({ internalToken: token })] },
  },
);
const invoices = createClient(InvoiceService, transport);
const asGateway = { headers: { [internalTokenHeader]: token, [tenantHeader]: tenant } };

const refusal = (call: Promise<unknown>) =>
  call.then(
    () => assert.fail("expected the call to be refused"),
    (err: unknown) => ConnectError.from(err),
  );
const fields = (err: ConnectError) => err.findDetails(FieldViolationsSchema).flatMap((d) => d.violations.map((v) => v.field));

describe("invoice rules, before the database", () => {
  it("names every bad field of a create at once, the first in the message", async () => {
    const request = sampleInvoice({ currencyCode: "XYZ", note: "\uFFFF" });
    request.lines[1]!.quantity = 0n;
    const err = await refusal(invoices.createInvoice(request, asGateway));
    assert.equal(err.code, Code.InvalidArgument);
    assert.deepEqual(fields(err), ["currency_code", "lines[1].quantity", "note"]);
    assert.match(err.rawMessage, /^currency_code: .* \(and 2 more\)$/);
    // The standard details carry the same paths, and the reason.
    const badRequest = err.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field));
    assert.deepEqual(badRequest, ["currency_code", "lines[1].quantity", "note"]);
    const [info] = err.findDetails(ErrorInfoSchema);
    assert.equal(info?.reason, "VALIDATION_FAILED");
    assert.equal(info?.domain, "invoicer.v1");
    assert.deepEqual(info?.metadata, { field: "currency_code", violations: "3" });
  });

  it("names a credit note's missing key, bad invoice id, blank reason and too many lines before reading the invoice", async () => {
    const lines = Array.from({ length: 101 }, () => sampleInvoice().lines[0]!);
    const err = await refusal(invoices.createCreditNote({ invoiceId: "INV-1", reason: " ", lines }, asGateway));
    assert.equal(err.code, Code.InvalidArgument);
    assert.deepEqual(fields(err), ["idempotency_key", "invoice_id", "reason", "lines"]);
  });

  it("refuses a due date before the issue date, and amounts past int64", async () => {
    assert.deepEqual(
      fields(await refusal(invoices.createInvoice(sampleInvoice({ issueDate: "2026-11-24", dueDate: "2026-11-01" }), asGateway))),
      ["due_date"],
    );
    const huge = sampleInvoice();
    huge.lines[0]!.unitPriceMinor = 2n ** 62n;
    assert.deepEqual(fields(await refusal(invoices.createInvoice(huge, asGateway))), ["lines[0]"]);
  });

  it("refuses ids, page sizes, page tokens and statuses it never issued", async () => {
    assert.deepEqual(fields(await refusal(invoices.getInvoice({ id: "1 or 1=1" }, asGateway))), ["id"]);
    assert.deepEqual(fields(await refusal(invoices.payInvoice({ id: "" }, asGateway))), ["id"]);
    const list = await refusal(invoices.listInvoices({ pageSize: 101, pageToken: "bm90LW91cnM", status: 9 as InvoiceStatus }, asGateway));
    assert.deepEqual(fields(list), ["page_size", "page_token", "status"]);
    assert.deepEqual(fields(await refusal(invoices.voidInvoice({ id: tenant, reason: "r".repeat(501) }, asGateway))), ["reason"]);
  });

  it("believes the tenant header only with the internal token", async () => {
    const forged = await refusal(invoices.getInvoice({ id: tenant }, { headers: { [tenantHeader]: tenant } }));
    assert.equal(forged.code, Code.Unauthenticated);
    const noTenant = await refusal(invoices.getInvoice({ id: tenant }, { headers: { [internalTokenHeader]: token } }));
    assert.equal(noTenant.code, Code.Unauthenticated);
  });
});
