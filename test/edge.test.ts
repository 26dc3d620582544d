import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { create, toJsonString, type DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { CreateInvoiceRequestSchema, DocumentFormat, InvoiceService } from "@invoicer/sdk";
import { ErrorInfoSchema, RetryInfoSchema } from "@invoicer/sdk/google/rpc/error_details_pb";
import { ServerReflection, ServerReflectionRequestSchema } from "@invoicer/sdk/grpc/reflection/v1/reflection_pb";
import { ApiKeyService, InvoiceDocumentService } from "@invoicer/sdk/invoicer/v1/internal_service_pb";
import { internalTokenHeader, tenantHeader } from "@invoicer/platform/internal-auth";
import { createLogger } from "@invoicer/platform/logger";
import { sampleInvoice } from "@invoicer/devstack/samples";
import { startStack, type Stack } from "./support/stack.ts";

let stack: Stack;
before(async () => {
  stack = await startStack();
});
after(() => stack.close());

const codeOf = (call: Promise<unknown>) =>
  call.then(
    () => "ok" as const,
    (err) => ConnectError.from(err).code,
  );

function clientWithHeaders<S extends DescService = typeof InvoiceService>(
  baseUrl: string,
  headers: Record<string, string>,
  service: S = InvoiceService as unknown as S,
) {
  return createClient(
    service,
    createConnectTransport({
      baseUrl,
      httpVersion: "1.1",
      interceptors: [(next) => (req) => (Object.entries(headers).forEach(([k, v]) => req.header.set(k, v)), next(req))],
    }),
  );
}

describe("authentication", () => {
  it("ignores tenant and internal-token headers a client sends to the gateway", async () => {
    const forged = clientWithHeaders(stack.gatewayUrl, {
      authorization: `Bearer ${stack.tenantA.apiKey}`,
      [tenantHeader]: stack.tenantB.id,
      [internalTokenHeader]: "guessed-token-guessed-token",
    });
    const { invoice } = await forged.createInvoice(sampleInvoice());
    const [row] = await stack.database.sql`select tenant_id from invoices where id = ${invoice!.id}`;
    assert.equal(row!.tenant_id, stack.tenantA.id);
  });

  it("lets nobody but the gateway and the consumer call the server", async () => {
    const id = "00000000-0000-4000-8000-000000000000";
    const direct = clientWithHeaders(stack.serverUrl, { [tenantHeader]: stack.tenantA.id });
    assert.equal(await codeOf(direct.getInvoice({ id })), Code.Unauthenticated);
    const wrongToken = clientWithHeaders(stack.serverUrl, { [tenantHeader]: stack.tenantA.id, [internalTokenHeader]: "x".repeat(48) });
    assert.equal(await codeOf(wrongToken.getInvoice({ id })), Code.Unauthenticated);
    const trusted = clientWithHeaders(stack.serverUrl, { [tenantHeader]: stack.tenantA.id, [internalTokenHeader]: stack.internalToken });
    assert.equal(await codeOf(trusted.getInvoice({ id })), Code.NotFound);
  });

  it("lets the consumer's token attach documents and call nothing else", async () => {
    const id = "00000000-0000-4000-8000-000000000000";
    const asConsumer = { [internalTokenHeader]: stack.consumerToken, [tenantHeader]: stack.tenantA.id };
    const documents = clientWithHeaders(stack.serverUrl, asConsumer, InvoiceDocumentService);
    const attach = {
      eventId: id,
      tenantId: stack.tenantA.id,
      invoiceId: id,
      documents: [{ format: DocumentFormat.PDF, content: Buffer.from("%PDF-1.7") }],
    };
    assert.equal(await codeOf(documents.attachDocuments(attach)), Code.NotFound, "the consumer attaches documents");
    const invoices = clientWithHeaders(stack.serverUrl, asConsumer);
    assert.equal(await codeOf(invoices.getInvoice({ id })), Code.PermissionDenied, "it cannot act as a tenant");
    const keys = clientWithHeaders(stack.serverUrl, asConsumer, ApiKeyService);
    assert.equal(await codeOf(keys.authenticateApiKey({ apiKey: stack.tenantA.apiKey })), Code.PermissionDenied);
    const asGateway = { [internalTokenHeader]: stack.internalToken };
    assert.equal(
      await codeOf(clientWithHeaders(stack.serverUrl, asGateway, InvoiceDocumentService).attachDocuments(attach)),
      Code.NotFound,
    );
  });
});

describe("the server's reflection", () => {
  /** The services the server's reflection lists, and whether it shows the file of `symbol`, asked with `headers`. */
  async function reflect(headers: Record<string, string>, symbol: string) {
    const reflection = createClient(
      ServerReflection,
      createGrpcTransport({
        baseUrl: stack.serverUrl,
        interceptors: [(next) => (req) => (Object.entries(headers).forEach(([k, v]) => req.header.set(k, v)), next(req))],
      }),
    );
    async function* ask() {
      yield create(ServerReflectionRequestSchema, { messageRequest: { case: "listServices", value: "" } });
      yield create(ServerReflectionRequestSchema, { messageRequest: { case: "fileContainingSymbol", value: symbol } });
    }
    const answers = [];
    for await (const res of reflection.serverReflectionInfo(ask())) answers.push(res.messageResponse);
    const [list, file] = answers;
    return {
      services: list?.case === "listServicesResponse" ? list.value.service.map((s) => s.name).sort() : [],
      showsFile: file?.case === "fileDescriptorResponse",
    };
  }

  it("lists only the public services to a caller without the internal token", async () => {
    const anyone = await reflect({}, "invoicer.v1.ApiKeyService");
    assert.deepEqual(anyone.services, ["grpc.health.v1.Health", "invoicer.v1.InvoiceService"]);
    assert.equal(anyone.showsFile, false, "the internal services' file is not shown either");
    assert.equal((await reflect({ [internalTokenHeader]: "x".repeat(48) }, "invoicer.v1.ApiKeyService")).showsFile, false);
    const gateway = await reflect({ [internalTokenHeader]: stack.internalToken }, "invoicer.v1.ApiKeyService");
    assert.deepEqual(gateway.services, [
      "grpc.health.v1.Health",
      "invoicer.v1.ApiKeyService",
      "invoicer.v1.InvoiceDocumentService",
      "invoicer.v1.InvoiceService",
    ]);
    assert.equal(gateway.showsFile, true);
  });
});

// Hostile bodies, keys, content types and the internal services through the gateway: see
// test/hostile.test.ts and its corpus, test/support/hostile-corpus.ts.
describe("errors when the database is gone", () => {
  it("keeps SQL, stacks and paths out of errors, and stays up, when the database is gone", async () => {
    const broken = await startStack();
    try {
      // Warm the gateway's key cache, then take the database away from the server.
      await broken.client(broken.tenantA).listInvoices({});
      await broken.database.sql.end();
      broken.database.close = async () => {};
      const body = await fetch(`${broken.gatewayUrl}/invoicer.v1.InvoiceService/CreateInvoice`, {
        method: "POST",
        body: toJsonString(CreateInvoiceRequestSchema, sampleInvoice()),
        headers: { authorization: `Bearer ${broken.tenantA.apiKey}`, "content-type": "application/json" },
      });
      const text = await body.text();
      // Unavailable: the caller may retry (with the same idempotency key) once the database is back.
      assert.equal(body.status, 503);
      const { details, ...error } = JSON.parse(text);
      assert.deepEqual(error, { code: "unavailable", message: "the database is unavailable; retry later" });
      // Only google.rpc.ErrorInfo with its stable reason: nothing of the cause.
      assert.deepEqual(
        details.map((d: { type: string; debug?: { reason: string } }) => [d.type, d.debug?.reason]),
        [["google.rpc.ErrorInfo", "DATABASE_UNAVAILABLE"]],
      );
      assert.doesNotMatch(text, /insert|select|postgres|\/work|\.ts|at /i);
      assert.equal((await fetch(`${broken.gatewayUrl}/healthz`)).status, 200);
    } finally {
      await broken.close();
    }
  });
});

describe("what logs keep out", () => {
  it("logs a failed statement without its parameters or PostgreSQL's detail: names, addresses, reasons stay out", async () => {
    const lines: string[] = [];
    const log = createLogger("test", "info", { write: (line: string) => void lines.push(line) });
    const logged = await startStack({}, undefined, { log });
    try {
      const client = logged.client(logged.tenantA);
      const { invoice } = await client.createInvoice(sampleInvoice());
      // Every insert into invoices and update of one fails in the database from here on.
      await logged.database.sql.unsafe(`
        create function refuse() returns trigger language plpgsql as $$ begin raise exception 'refused by a trigger'; end $$;
        create trigger refuse_insert before insert on invoices for each row execute function refuse();
        create trigger refuse_update before update on invoices for each row execute function refuse();`);
      const secretBuyer = "Confidential Buyer Ltd 4711";
      const create = await client
        .createInvoice(sampleInvoice({ buyer: { ...sampleInvoice().buyer!, name: secretBuyer } }))
        .catch((e: unknown) => ConnectError.from(e));
      const voided = await client
        .voidInvoice({ id: invoice!.id, reason: "Confidential reason 4711" })
        .catch((e: unknown) => ConnectError.from(e));
      assert.equal((create as ConnectError).code, Code.Internal);
      assert.equal((voided as ConnectError).code, Code.Internal);
      const errors = lines.filter((l) => l.includes("unexpected error"));
      assert.equal(errors.length, 2, "both failures were logged");
      assert.ok(
        errors.every((l) => l.includes("refused by a trigger")),
        "with their cause",
      );
      assert.doesNotMatch(lines.join("\n"), /Confidential|Globex|FR12345678901|Rivoli/);
    } finally {
      await logged.close();
    }
  });
});

describe("rate limits and CORS", () => {
  it("limits each key on its own", async () => {
    const limited = await startStack({ rateLimitPerSecond: 1, rateLimitBurst: 3 });
    try {
      const a = limited.client(limited.tenantA);
      const codes = [];
      for (let i = 0; i < 4; i++) codes.push(await codeOf(a.listInvoices({})));
      assert.deepEqual(codes, ["ok", "ok", "ok", Code.ResourceExhausted]);
      // The refusal says why and how long to wait: google.rpc.ErrorInfo and RetryInfo (one token a second).
      const refused = await a.listInvoices({}).then(
        () => assert.fail("expected the rate limit"),
        (err: unknown) => ConnectError.from(err),
      );
      assert.equal(refused.findDetails(ErrorInfoSchema)[0]?.reason, "RATE_LIMITED");
      const delay = refused.findDetails(RetryInfoSchema)[0]?.retryDelay;
      const delayMs = Number(delay?.seconds ?? 0n) * 1000 + (delay?.nanos ?? 0) / 1e6;
      assert.ok(delayMs > 0 && delayMs <= 1000, `retry delay ${delayMs} ms`);
      assert.equal(await codeOf(limited.client(limited.tenantB).listInvoices({})), "ok");
    } finally {
      await limited.close();
    }
  });

  it("answers preflights for allowed origins with Connect's headers and ignores other origins", async () => {
    const preflight = (origin: string) =>
      fetch(`${stack.gatewayUrl}/invoicer.v1.InvoiceService/CreateInvoice`, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization,content-type,x-grpc-web",
        },
      });
    const allowed = await preflight("http://allowed.example");
    assert.equal(allowed.headers.get("access-control-allow-origin"), "http://allowed.example");
    assert.match(allowed.headers.get("access-control-allow-headers") ?? "", /Authorization/i);
    assert.match(allowed.headers.get("access-control-allow-headers") ?? "", /X-Grpc-Web/i);
    const denied = await preflight("http://evil.example");
    assert.equal(denied.headers.get("access-control-allow-origin"), null);
    const call = await fetch(`${stack.gatewayUrl}/invoicer.v1.InvoiceService/ListInvoices`, {
      method: "POST",
      body: "{}",
      headers: { origin: "http://allowed.example", authorization: `Bearer ${stack.tenantA.apiKey}`, "content-type": "application/json" },
    });
    assert.match(call.headers.get("access-control-expose-headers") ?? "", /Grpc-Status/i);
  });
});
