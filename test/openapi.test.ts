// The committed OpenAPI document (gateway/openapi.yaml) against the OpenAPI 3.1 schema, against the
// routes the gateway registers, and against real answers: every documented route is called on the
// running gateway with good and bad requests, and each request and answer is checked against it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { toJson, type JsonObject } from "@bufbuild/protobuf";
import { CreateInvoiceRequestSchema } from "@invoicer/sdk";
import { createLogger } from "@invoicer/platform/logger";
import { startObservability } from "@invoicer/platform/observability";
import { Validator } from "@seriousme/openapi-schema-validator";
import { buildGateway } from "../gateway/src/app.ts";
import { loadGatewayConfig } from "../gateway/src/config.ts";
import { watchInvoices } from "./support/events.ts";
import { apiChecker, documentedRoutes, loadApiDocument, registeredRoutes, type SentRequest } from "./support/openapi.ts";
import { sampleInvoice } from "@invoicer/devstack/samples";
import { startStack, type Stack } from "./support/stack.ts";
import { invoiceSamples } from "./support/einvoice-samples.ts";
import { documentRoutes } from "../gateway/src/rest.ts";

const document = loadApiDocument();
const api = apiChecker(document);
const maxBodyBytes = 64 * 1024;
const unknownId = "00000000-0000-4000-8000-000000000000";
let stack: Stack;
before(async () => {
  // With events: the consumer renders the documents the PDF and DOCX routes serve.
  stack = await startStack({ maxBodyBytes }, {});
});
after(() => stack.close());

describe("the OpenAPI document", () => {
  it("is valid OpenAPI 3.1", async () => {
    const validator = new Validator();
    const result = await validator.validate(document as unknown as Parameters<Validator["validate"]>[0]);
    assert.deepEqual(result, { valid: true });
    assert.equal(validator.version, "3.1");
  });

  it("has every route the gateway registers but the RPCs, /metrics and the web app, and no other", async () => {
    const config = loadGatewayConfig({
      INTERNAL_TOKEN: "t".repeat(32),
      SERVER_URL: "http://127.0.0.1:1",
      METRICS_TOKEN: "m".repeat(32),
      WEB_DIR: "/nonexistent",
    });
    const gateway = await buildGateway(config, createLogger("test", "silent"), startObservability("gateway", config.tracing));
    await gateway.ready();
    // HEAD mirrors every GET (Fastify's exposeHeadRoutes) and OPTIONS * answers CORS preflights.
    const notRest = /^(?:HEAD |OPTIONS \*$|\w+ \/(?:invoicer|grpc)\.|GET \/metrics$)/;
    const rest = registeredRoutes(gateway).filter((route) => !notRest.test(route));
    await gateway.close();
    assert.ok(rest.includes("POST /v1/invoices"), "the route table was read");
    assert.deepEqual(rest, documentedRoutes(document));
  });
});

/** One exchange: the request is checked against the document, sent, and its answer must fit the document. */
async function call(method: string, path: string, request: SentRequest & { apiKey?: string | null; raw?: RequestInit["body"] } = {}) {
  const { params = {}, query = {}, body, raw, apiKey = stack.tenantA.apiKey } = request;
  const url = new URL(
    path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name]!)),
    stack.gatewayUrl,
  );
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  const headers: Record<string, string> = {
    ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
    ...(body !== undefined || raw !== undefined ? { "content-type": "application/json" } : {}),
    ...request.headers,
  };
  const sent = raw ?? (body === undefined ? undefined : JSON.stringify(body));
  const response = await fetch(url, { method, headers, body: sent, ...(raw instanceof ReadableStream ? { duplex: "half" } : {}) });
  const contentType = response.headers.get("content-type");
  const bytes = Buffer.from(await response.arrayBuffer());
  const received = /json/.test(contentType ?? "") ? (JSON.parse(bytes.toString()) as unknown) : bytes.length > 0 ? bytes : undefined;
  called.add(`${method} ${path}`);
  assert.deepEqual(api.response(method, path, { status: response.status, contentType, body: received }), [], `${method} ${url.pathname}`);
  const requestProblems = api.request(method, path, { params, query, headers, body: body ?? (typeof raw === "string" ? raw : undefined) });
  // Answers of any documented shape, read field by field by each test.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: response.status, headers: response.headers, body: received as any, requestProblems };
}

/** A documented error: its status, code and ErrorInfo reason. */
function assertError(answer: Awaited<ReturnType<typeof call>>, status: number, code: string, reason: string) {
  assert.equal(answer.status, status);
  assert.equal(answer.body.code, code);
  assert.equal(answer.body.details[0]["@type"], "type.googleapis.com/google.rpc.ErrorInfo");
  assert.equal(answer.body.details.find((d: { reason?: string }) => d.reason)?.reason, reason);
}

const called = new Set<string>();
const validBody = () => toJson(CreateInvoiceRequestSchema, sampleInvoice()) as JsonObject;

describe("every documented route on the gateway", () => {
  let issued: { id: string; number: string };

  it("POST /v1/invoices issues an invoice, idempotently by body or header", async () => {
    const body = validBody();
    const created = await call("POST", "/v1/invoices", { body });
    assert.deepEqual(created.requestProblems, []);
    assert.equal(created.status, 201);
    assert.equal(created.body.status, "INVOICE_STATUS_ISSUED");
    issued = created.body;
    const retried = await call("POST", "/v1/invoices", { body });
    assert.equal(retried.status, 201);
    assert.equal(retried.body.id, issued.id);
    const { idempotencyKey, ...withoutKey } = validBody();
    const byHeader = await call("POST", "/v1/invoices", { body: withoutKey, headers: { "idempotency-key": String(idempotencyKey) } });
    assert.deepEqual(byHeader.requestProblems, []);
    assert.equal(byHeader.status, 201);
    const reused = await call("POST", "/v1/invoices", { body: { ...withoutKey, idempotencyKey, note: "another request" } });
    assertError(reused, 409, "already_exists", "IDEMPOTENCY_KEY_REUSED");
  });

  it("POST /v1/invoices refuses bad bodies, content types, keys and sizes", async () => {
    const invalid = await call("POST", "/v1/invoices", { body: { ...validBody(), currencyCode: "XYZ", lines: [] } });
    assert.notDeepEqual(invalid.requestProblems, [], "the document refuses an invoice without lines too");
    assertError(invalid, 400, "invalid_argument", "VALIDATION_FAILED");
    const fields = invalid.body.details.find((d: { fieldViolations?: unknown }) => d.fieldViolations).fieldViolations;
    assert.deepEqual(fields.map((v: { field: string }) => v.field).sort(), ["currency_code", "lines"]);
    const unknownField = await call("POST", "/v1/invoices", { body: { ...validBody(), amount: 1 } });
    assert.notDeepEqual(unknownField.requestProblems, []);
    assertError(unknownField, 400, "invalid_argument", "INVALID_REQUEST");
    const malformed = await call("POST", "/v1/invoices", { raw: "{not json" });
    assert.notDeepEqual(malformed.requestProblems, []);
    assertError(malformed, 400, "invalid_argument", "INVALID_REQUEST");
    const text = await call("POST", "/v1/invoices", { raw: "x", headers: { "content-type": "text/plain" } });
    assert.notDeepEqual(text.requestProblems, []);
    assertError(text, 415, "invalid_argument", "INVALID_REQUEST");
    const anonymous = await call("POST", "/v1/invoices", { body: validBody(), apiKey: null });
    assert.deepEqual(anonymous.requestProblems, ["no bearer API key"]);
    assertError(anonymous, 401, "unauthenticated", "API_KEY_MISSING");
    const unknownKey = await call("POST", "/v1/invoices", { body: validBody(), apiKey: `inv_${"0".repeat(32)}` });
    assertError(unknownKey, 401, "unauthenticated", "API_KEY_INVALID");
    const oversize = { ...validBody(), note: "n".repeat(maxBodyBytes) };
    assertError(await call("POST", "/v1/invoices", { body: oversize }), 413, "resource_exhausted", "REQUEST_TOO_LARGE");
    // Without a Content-Length, the limit is met while the body is read.
    const streamed = new Blob([JSON.stringify(oversize)]).stream();
    assertError(await call("POST", "/v1/invoices", { raw: streamed }), 413, "resource_exhausted", "REQUEST_TOO_LARGE");
  });

  it("GET /v1/invoices pages and filters, and refuses bad parameters", async () => {
    const page = await call("GET", "/v1/invoices", { query: { page_size: "1", status: "ISSUED" } });
    assert.deepEqual(page.requestProblems, []);
    assert.equal(page.status, 200);
    assert.equal(page.body.invoices.length, 1);
    const next = await call("GET", "/v1/invoices", { query: { page_size: "1", page_token: page.body.nextPageToken } });
    assert.equal(next.status, 200);
    assert.notEqual(next.body.invoices[0].id, page.body.invoices[0].id);
    const badSize = await call("GET", "/v1/invoices", { query: { page_size: "many" } });
    assert.notDeepEqual(badSize.requestProblems, []);
    assertError(badSize, 400, "invalid_argument", "VALIDATION_FAILED");
    assertError(await call("GET", "/v1/invoices", { query: { page_size: "101" } }), 400, "invalid_argument", "VALIDATION_FAILED");
    assertError(await call("GET", "/v1/invoices", { query: { status: "LOST" } }), 400, "invalid_argument", "VALIDATION_FAILED");
    assertError(await call("GET", "/v1/invoices", { query: { page_token: "forged" } }), 400, "invalid_argument", "VALIDATION_FAILED");
    assertError(await call("GET", "/v1/invoices", { apiKey: null }), 401, "unauthenticated", "API_KEY_MISSING");
  });

  it("GET /v1/invoices/{id} answers the tenant's invoice, and 404 or 400 for others", async () => {
    const got = await call("GET", "/v1/invoices/{id}", { params: { id: issued.id } });
    assert.deepEqual(got.requestProblems, []);
    assert.equal(got.status, 200);
    assert.equal(got.body.number, issued.number);
    assertError(await call("GET", "/v1/invoices/{id}", { params: { id: unknownId } }), 404, "not_found", "INVOICE_NOT_FOUND");
    const otherTenant = await call("GET", "/v1/invoices/{id}", { params: { id: issued.id }, apiKey: stack.tenantB.apiKey });
    assertError(otherTenant, 404, "not_found", "INVOICE_NOT_FOUND");
    const notAnId = await call("GET", "/v1/invoices/{id}", { params: { id: "not-an-id" } });
    assert.notDeepEqual(notAnId.requestProblems, []);
    assertError(notAnId, 400, "invalid_argument", "VALIDATION_FAILED");
    // Past the router's default parameter length (100), as schemathesis sent: still a documented 400, not Fastify's 414.
    for (const path of ["/v1/invoices/{id}", "/v1/invoices/{id}/xrechnung-cii"]) {
      const long = await call("GET", path, { params: { id: "Ṱ̺̺̕o͞".repeat(40) } });
      assertError(long, 400, "invalid_argument", "VALIDATION_FAILED");
    }
    assertError(
      await call("GET", "/v1/invoices/{id}", { params: { id: issued.id }, apiKey: null }),
      401,
      "unauthenticated",
      "API_KEY_MISSING",
    );
  });

  it("GET /v1/invoices/{id}/<format> answers each file once rendered with its Repr-Digest, 400 before", async () => {
    const watch = await watchInvoices(stack.client(stack.tenantA));
    const full = toJson(CreateInvoiceRequestSchema, invoiceSamples()[0]!.request) as JsonObject;
    const created = await call("POST", "/v1/invoices", { body: { ...full, idempotencyKey: `openapi-${process.pid}-${Date.now()}` } });
    assert.equal(created.status, 201);
    for (const [format] of documentRoutes) {
      const early = await call("GET", `/v1/invoices/{id}/${format}`, { params: { id: created.body.id } });
      // The consumer may already have rendered it: either answer is documented.
      if (early.status !== 200) assertError(early, 400, "failed_precondition", "DOCUMENT_NOT_READY");
    }
    await watch.until((events) => events.some((e) => e.invoiceId === created.body.id && e.kind.case === "documentReady"));
    watch.close();
    const magics: Record<string, string> = { pdf: "%PDF-", docx: "PK" };
    for (const [format] of documentRoutes) {
      const file = await call("GET", `/v1/invoices/{id}/${format}`, { params: { id: created.body.id } });
      assert.deepEqual(file.requestProblems, []);
      assert.equal(file.status, 200);
      assert.equal(
        file.body
          .subarray(0, 5)
          .toString()
          .slice(0, (magics[format] ?? "<?xml").length),
        magics[format] ?? "<?xml",
      );
      assert.match(file.headers.get("content-disposition")!, /^attachment; filename="invoice-\d+(?:\.pdf|\.docx|-[a-z-]+\.xml)"$/);
      assert.match(file.headers.get("repr-digest")!, /^sha-256=:[A-Za-z0-9+/]{43}=:$/);
      const missing = await call("GET", `/v1/invoices/{id}/${format}`, { params: { id: unknownId } });
      assertError(missing, 404, "not_found", "INVOICE_NOT_FOUND");
      assertError(await call("GET", `/v1/invoices/{id}/${format}`, { params: { id: "x" } }), 400, "invalid_argument", "VALIDATION_FAILED");
      const anonymous = await call("GET", `/v1/invoices/{id}/${format}`, { params: { id: created.body.id }, apiKey: null });
      assertError(anonymous, 401, "unauthenticated", "API_KEY_MISSING");
    }
  });

  it("POST /v1/invoices/{id}/credit-notes issues a credit note idempotently, and refuses over-credit and bad bodies", async () => {
    const created = await call("POST", "/v1/invoices", { body: validBody() });
    const params = { id: created.body.id as string };
    const line = { description: "Handbook returned", quantity: "1", unitPriceMinor: "1250", vatRateBp: 700 };
    const body = { idempotencyKey: `credit-${created.body.id}`, reason: "Returned", lines: [line] };
    const credited = await call("POST", "/v1/invoices/{id}/credit-notes", { params, body });
    assert.deepEqual(credited.requestProblems, []);
    assert.equal(credited.status, 201);
    assert.equal(credited.body.documentType, "DOCUMENT_TYPE_CREDIT_NOTE");
    assert.equal(credited.body.totalMinor, "1338");
    assert.deepEqual(credited.body.precedingInvoice, { id: params.id, number: created.body.number, issueDate: created.body.issueDate });
    const { idempotencyKey, ...withoutKey } = body;
    const retried = await call("POST", "/v1/invoices/{id}/credit-notes", {
      params,
      body: withoutKey,
      headers: { "idempotency-key": idempotencyKey },
    });
    assert.equal(retried.status, 201);
    assert.equal(retried.body.id, credited.body.id);
    const whole = await call("POST", "/v1/invoices/{id}/credit-notes", {
      params,
      body: { idempotencyKey: `${idempotencyKey}-all`, reason: "All" },
    });
    assertError(whole, 400, "failed_precondition", "CREDIT_EXCEEDS_REMAINING");
    assert.equal(whole.body.details[1].violations[0].type, "CREDIT_WITHIN_REMAINING");
    const otherInvoice = await call("POST", "/v1/invoices/{id}/credit-notes", { params, body: { ...body, invoiceId: unknownId } });
    assertError(otherInvoice, 400, "invalid_argument", "VALIDATION_FAILED");
    const missing = await call("POST", "/v1/invoices/{id}/credit-notes", {
      params: { id: unknownId },
      body: { ...body, idempotencyKey: "x" },
    });
    assertError(missing, 404, "not_found", "INVOICE_NOT_FOUND");
    const noReason = await call("POST", "/v1/invoices/{id}/credit-notes", { params, body: { idempotencyKey: "y" } });
    assert.notDeepEqual(noReason.requestProblems, []);
    assertError(noReason, 400, "invalid_argument", "VALIDATION_FAILED");
    const anonymous = await call("POST", "/v1/invoices/{id}/credit-notes", { params, body, apiKey: null });
    assertError(anonymous, 401, "unauthenticated", "API_KEY_MISSING");
  });

  it("GET /v1/invoices/{id}/xrechnung-ubl of an invoice without what XRechnung needs is 400 with a PreconditionFailure", async () => {
    const created = await call("POST", "/v1/invoices", { body: validBody() });
    const answer = await call("GET", "/v1/invoices/{id}/xrechnung-ubl", { params: { id: created.body.id } });
    assertError(answer, 400, "failed_precondition", "EINVOICE_PROFILE_NOT_MET");
    const failure = answer.body.details.find((d: { "@type": string }) => d["@type"].endsWith("google.rpc.PreconditionFailure"));
    assert.ok(failure.violations.some((v: { type: string; subject: string }) => v.type === "BR-DE-15" && v.subject === "buyer_reference"));
  });

  it("GET /healthz, /readyz and /openapi.yaml answer without a key", async () => {
    assert.equal((await call("GET", "/healthz", { apiKey: null })).status, 200);
    assert.deepEqual((await call("GET", "/readyz", { apiKey: null })).body, { status: "ready" });
    const served = await call("GET", "/openapi.yaml", { apiKey: null });
    assert.equal(served.status, 200);
    assert.match(served.body.toString(), /^openapi: 3\.1\./m);
    const cached = await call("GET", "/openapi.yaml", { apiKey: null, headers: { "if-none-match": served.headers.get("etag")! } });
    assert.equal(cached.status, 304);
  });

  it("called every documented route", () => {
    assert.deepEqual([...called].sort(), documentedRoutes(document));
  });
});
