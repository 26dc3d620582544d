import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { toJsonString } from "@bufbuild/protobuf";
import { CreateInvoiceRequestSchema } from "@invoicer/sdk";
import { internalTokenHeader } from "@invoicer/platform/internal-auth";
import { sampleInvoice } from "@invoicer/devstack/samples";
import { startStack, type Stack } from "./support/stack.ts";

const run = promisify(execFile);
let stack: Stack;
before(async () => {
  stack = await startStack();
});
after(() => stack.close());

describe("through the gateway", () => {
  for (const kind of ["connect-binary", "connect-json", "grpc-web"] as const) {
    it(`serves ${kind} with the generated client`, async () => {
      const client = stack.client(stack.tenantA, kind);
      const { invoice } = await client.createInvoice(sampleInvoice());
      const { invoice: fetched } = await client.getInvoice({ id: invoice!.id });
      assert.equal(fetched!.totalMinor, 56_225n);
      const page = await client.listInvoices({ pageSize: 1 });
      assert.equal(page.invoices[0]!.id, invoice!.id);
    });
  }

  it("serves gRPC over HTTP/2 to @grpc/grpc-js loading the .proto files, status trailers included", async () => {
    const definition = protoLoader.loadSync("invoicer/v1/invoice_service.proto", {
      includeDirs: ["proto", "third_party"],
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
    });
    // proto-loader's services are typed only at run time.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const loaded = grpc.loadPackageDefinition(definition) as any;
    const client = new loaded.invoicer.v1.InvoiceService(stack.gatewayUrl.replace("http://", ""), grpc.credentials.createInsecure());
    const metadata = new grpc.Metadata();
    metadata.set("authorization", `Bearer ${stack.tenantA.apiKey}`);
    const call = <T>(method: string, req: object, md = metadata) =>
      new Promise<T>((ok, fail) => client[method](req, md, (err: grpc.ServiceError | null, res: T) => (err ? fail(err) : ok(res))));
    const request = JSON.parse(toJsonString(CreateInvoiceRequestSchema, sampleInvoice(), { useProtoFieldName: true }));
    const created = await call<{ invoice: { id: string; total_minor: string; number: string } }>("CreateInvoice", request);
    assert.equal(created.invoice.total_minor, "56225");
    const got = await call<{ invoice: { id: string; status: string } }>("GetInvoice", { id: created.invoice.id });
    assert.equal(got.invoice.status, "INVOICE_STATUS_ISSUED");
    const invalid = await call("CreateInvoice", { ...request, currency_code: "XYZ" }).catch((e: grpc.ServiceError) => e);
    assert.equal((invalid as grpc.ServiceError).code, grpc.status.INVALID_ARGUMENT);
    assert.match((invalid as grpc.ServiceError).details, /^currency_code:/);
    // google.rpc.Status with the details (BadRequest, ErrorInfo) rides in the grpc-status-details-bin trailer.
    assert.equal((invalid as grpc.ServiceError).metadata.get("grpc-status-details-bin").length, 1);
    const anonymous = await call("GetInvoice", { id: created.invoice.id }, new grpc.Metadata()).catch((e: grpc.ServiceError) => e);
    assert.equal((anonymous as grpc.ServiceError).code, grpc.status.UNAUTHENTICATED);
    client.close();
  });

  const bufCurl = (args: string[]) =>
    run("node_modules/.bin/buf", ["curl", "-H", `Authorization: Bearer ${stack.tenantA.apiKey}`, ...args], { encoding: "utf8" });

  for (const [protocol, flags] of [
    ["connect", []],
    ["grpcweb", []],
    ["grpc", ["--http2-prior-knowledge"]],
  ] as const) {
    it(`answers buf curl over ${protocol} using reflection, no schema given`, async () => {
      const body = toJsonString(CreateInvoiceRequestSchema, sampleInvoice());
      const { stdout } = await bufCurl([
        "--protocol",
        protocol,
        ...flags,
        "-d",
        body,
        `${stack.gatewayUrl}/invoicer.v1.InvoiceService/CreateInvoice`,
      ]);
      const { invoice } = JSON.parse(stdout);
      assert.equal(invoice.totalMinor, "56225");
      assert.equal(invoice.status, "INVOICE_STATUS_ISSUED");
    });
  }

  it("lists only the public service through reflection", async () => {
    const { stdout } = await bufCurl(["--http2-prior-knowledge", "--list-services", stack.gatewayUrl]);
    assert.deepEqual(stdout.trim().split("\n"), ["invoicer.v1.InvoiceService"]);
    const direct = (...args: string[]) =>
      run("node_modules/.bin/buf", ["curl", "--http2-prior-knowledge", ...args, "--list-services", stack.serverUrl]);
    assert.doesNotMatch((await direct()).stdout, /InvoiceDocumentService/, "the server lists its internal services to the gateway only");
    assert.match(
      (await direct("--reflect-header", `${internalTokenHeader}: ${stack.internalToken}`)).stdout,
      /invoicer\.v1\.InvoiceDocumentService/,
    );
  });
});

describe("procedures the gateway does not forward", () => {
  it("answers an unknown procedure with HTTP 404, which Connect clients read as unimplemented, and another verb with 405", async () => {
    const call = (path: string, method = "POST", key?: string) =>
      fetch(`${stack.gatewayUrl}${path}`, {
        method,
        headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
        body: method === "GET" ? undefined : "{}",
      });
    for (const path of ["/connectrpc.conformance.v1.ConformanceService/Unary", "/invoicer.v1.InvoiceDocumentService/AttachDocuments"]) {
      const unknown = await call(path);
      assert.equal(unknown.status, 404, path);
      assert.match(await unknown.text(), /^no such method/, path);
    }
    // Under the public service, the key comes first: nobody learns what exists without one.
    assert.equal((await call("/invoicer.v1.InvoiceService/DeleteInvoice")).status, 401);
    assert.equal((await call("/invoicer.v1.InvoiceService/DeleteInvoice", "POST", stack.tenantA.apiKey)).status, 404);
    const wrongVerb = await call("/invoicer.v1.InvoiceService/CreateInvoice", "DELETE");
    assert.equal(wrongVerb.status, 405);
    assert.equal(wrongVerb.headers.get("allow"), "GET, POST");
    const notRpc = await call("/no/such/route", "GET");
    assert.equal(notRpc.status, 404);
    assert.equal(((await notRpc.json()) as { code: string }).code, "not_found");
  });
});

describe("REST routes", () => {
  // Answers of any shape, read field by field by each test.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type JsonResponse = Omit<Response, "json"> & { json(): Promise<any> };
  const rest = (path: string, init: RequestInit = {}, apiKey = stack.tenantA.apiKey): Promise<JsonResponse> =>
    fetch(`${stack.gatewayUrl}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json", ...init.headers },
    });

  it("creates, gets and lists invoices as JSON", async () => {
    const body = toJsonString(CreateInvoiceRequestSchema, sampleInvoice({ idempotencyKey: "" }));
    const created = await rest("/v1/invoices", { method: "POST", body, headers: { "idempotency-key": `rest-${Date.now()}` } });
    assert.equal(created.status, 201);
    const invoice = await created.json();
    assert.equal(invoice.totalMinor, "56225");
    const got = await rest(`/v1/invoices/${invoice.id}`);
    assert.equal(got.status, 200);
    assert.equal((await got.json()).number, invoice.number);
    const list = await rest("/v1/invoices?page_size=1&status=issued");
    const page = await list.json();
    assert.equal(page.invoices.length, 1);
    assert.equal(page.invoices[0].status, "INVOICE_STATUS_ISSUED");
    assert.equal(typeof page.nextPageToken, "string");
  });

  it("takes and returns the EN 16931 fields in the JSON mapping, snake_case accepted, and refuses a bad IBAN naming it", async () => {
    const body = {
      idempotency_key: `rest-einvoice-${Date.now()}`,
      currency_code: "EUR",
      seller: {
        name: "Acme GmbH",
        vat_id: "DE123456789",
        address: { street: "Hauptstraße 1", city: "Berlin", country_code: "DE" },
        electronic_address: { scheme: "9930", id: "DE123456789" },
        contact: { name: "Erika Mustermann", email: "billing@acme.example" },
        legal_registration_id: "HRB 123456 B",
      },
      buyer: { name: "Globex SARL", vat_id: "FR12345678901", address: { street: "1 rue de Rivoli", city: "Paris", country_code: "FR" } },
      lines: [
        { description: "Consulting", quantity_decimal: "2.25", unit_code: "HUR", unit_price_minor: "10000", vat_rate_bp: 1900 },
        {
          description: "Reverse-charged service",
          quantity: "1",
          unit_price_minor: "500",
          vat_category: "VAT_CATEGORY_REVERSE_CHARGE",
          vat_exemption_reason_code: "VATEX-EU-AE",
        },
      ],
      buyer_reference: "REF-1",
      payment: { means_code: "58", iban: "DE89370400440532013000" },
    };
    const created = await rest("/v1/invoices", { method: "POST", body: JSON.stringify(body) });
    assert.equal(created.status, 201);
    const invoice = await created.json();
    assert.deepEqual(
      invoice.lines.map((l: Record<string, string>) => [l.quantityDecimal, l.unitCode, l.vatCategory, l.netMinor]),
      [
        ["2.25", "HUR", "VAT_CATEGORY_STANDARD", "22500"],
        [undefined, "C62", "VAT_CATEGORY_REVERSE_CHARGE", "500"],
      ],
    );
    assert.deepEqual(invoice.seller.electronicAddress, { scheme: "9930", id: "DE123456789" });
    assert.deepEqual(invoice.payment, { meansCode: "58", iban: "DE89370400440532013000", remittance: invoice.number });
    assert.equal(invoice.buyerReference, "REF-1");
    assert.equal(invoice.documentType, "DOCUMENT_TYPE_INVOICE");
    const badIban = {
      ...body,
      idempotency_key: `rest-einvoice-bad-${Date.now()}`,
      payment: { means_code: "58", iban: "DE00370400440532013000" },
    };
    const refused = await rest("/v1/invoices", { method: "POST", body: JSON.stringify(badIban) });
    assert.equal(refused.status, 400);
    assert.deepEqual(
      (await refused.json()).violations.map((v: { field: string }) => v.field),
      ["payment.iban"],
    );
  });

  it("answers bad input with the HTTP status and the field", async () => {
    const invalid = await rest("/v1/invoices", { method: "POST", body: JSON.stringify({ idempotencyKey: "x", currencyCode: "XYZ" }) });
    assert.equal(invalid.status, 400);
    const error = await invalid.json();
    assert.equal(error.code, "invalid_argument");
    assert.ok(error.violations.some((v: { field: string }) => v.field === "currency_code"));
    assert.deepEqual(
      error.details.map((d: { "@type": string }) => d["@type"]),
      ["type.googleapis.com/google.rpc.ErrorInfo", "type.googleapis.com/google.rpc.BadRequest"],
    );
    assert.equal(error.details[0].reason, "VALIDATION_FAILED");
    assert.ok(error.details[1].fieldViolations.some((v: { field: string }) => v.field === "currency_code"));
    const unknownField = await rest("/v1/invoices", { method: "POST", body: JSON.stringify({ amount: 1 }) });
    assert.equal(unknownField.status, 400);
    const malformed = await rest("/v1/invoices", { method: "POST", body: "{not json" });
    assert.equal(malformed.status, 400);
    const malformedError = await malformed.json();
    assert.equal(malformedError.code, "invalid_argument");
    assert.equal(malformedError.details[0].reason, "INVALID_REQUEST");
    const wrongType = await rest("/v1/invoices", { method: "POST", body: "x", headers: { "content-type": "text/plain" } });
    assert.equal(wrongType.status, 415);
    const missing = await rest("/v1/invoices/00000000-0000-4000-8000-000000000000");
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).code, "not_found");
    const badStatus = await rest("/v1/invoices?status=LOST");
    assert.equal(badStatus.status, 400);
    const anonymous = await rest("/v1/invoices", {}, "");
    assert.equal(anonymous.status, 401);
  });

  it("filters the list by the enum names the API uses", async () => {
    const client = stack.client(stack.tenantA);
    const { invoice: paid } = await client.createInvoice(sampleInvoice());
    const { invoice: issued } = await client.createInvoice(sampleInvoice());
    await client.payInvoice({ id: paid!.id });
    const list = async (status: string) =>
      ((await (await rest(`/v1/invoices?page_size=100&status=${status}`)).json()) as { invoices: { id: string; status: string }[] })
        .invoices;
    const paidPage = await list("PAID");
    assert.ok(
      paidPage.some((i) => i.id === paid!.id),
      "the paid invoice is listed",
    );
    assert.ok(!paidPage.some((i) => i.id === issued!.id), "the issued one is not");
    assert.ok(paidPage.every((i) => i.status === "INVOICE_STATUS_PAID"));
    const issuedPage = await list("issued");
    assert.ok(issuedPage.some((i) => i.id === issued!.id) && !issuedPage.some((i) => i.id === paid!.id));
  });
});

describe("health", () => {
  it("answers /healthz and /readyz on the gateway and grpc.health.v1 on the server", async () => {
    assert.equal((await fetch(`${stack.gatewayUrl}/healthz`)).status, 200);
    const ready = await fetch(`${stack.gatewayUrl}/readyz`);
    assert.equal(ready.status, 200);
    const { stdout } = await run("node_modules/.bin/buf", [
      "curl",
      "--http2-prior-knowledge",
      "--protocol",
      "grpc",
      `${stack.serverUrl}/grpc.health.v1.Health/Check`,
    ]);
    assert.equal(JSON.parse(stdout).status, "SERVING");
  });
});
