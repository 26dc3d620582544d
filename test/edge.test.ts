import assert from "node:assert/strict";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { toJsonString } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { CreateInvoiceRequestSchema, InvoiceService } from "@invoicer/sdk";
import { ApiKeyService, InvoiceDocumentService } from "@invoicer/sdk/invoicer/v1/internal_service_pb";
import { internalTokenHeader, tenantHeader } from "@invoicer/platform/internal-auth";
import { revokeApiKey } from "../server/src/api-keys.ts";
import { bearer, sampleInvoice, startStack, type Stack } from "./support/stack.ts";

let stack: Stack;
before(async () => {
  stack = await startStack();
});
after(() => stack.close());

const codeOf = (call: Promise<unknown>) => call.then(() => "ok" as const, (err) => ConnectError.from(err).code);

function clientWithHeaders(baseUrl: string, headers: Record<string, string>) {
  return createClient(
    InvoiceService,
    createConnectTransport({
      baseUrl,
      httpVersion: "1.1",
      interceptors: [(next) => (req) => (Object.entries(headers).forEach(([k, v]) => req.header.set(k, v)), next(req))],
    }),
  );
}

describe("authentication", () => {
  it("refuses calls without a key, with a malformed header, a wrong key or a revoked key", async () => {
    const id = "00000000-0000-4000-8000-000000000000";
    const attempts: Record<string, string>[] = [{}, { authorization: "Basic abc" }, { authorization: "Bearer " }, { authorization: "Bearer inv_wrong" }];
    for (const headers of attempts) {
      assert.equal(await codeOf(clientWithHeaders(stack.gatewayUrl, headers).getInvoice({ id })), Code.Unauthenticated);
    }
    const { createApiKey } = await import("../server/src/api-keys.ts");
    const doomed = await createApiKey(stack.database.db, "revoked-tenant");
    const client = stack.client({ id: doomed.tenantId, apiKey: doomed.apiKey });
    await client.listInvoices({});
    assert.equal(await revokeApiKey(stack.database.db, doomed.apiKey), true);
    const fresh = await startStack({ apiKeyCacheMs: 0 });
    try {
      const revoked = fresh.client({ id: doomed.tenantId, apiKey: doomed.apiKey });
      assert.equal(await codeOf(revoked.listInvoices({})), Code.Unauthenticated);
    } finally {
      await fresh.close();
    }
  });

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

  it("never routes the internal services through the gateway", async () => {
    const transport = createConnectTransport({ baseUrl: stack.gatewayUrl, httpVersion: "1.1", interceptors: [bearer(stack.tenantA.apiKey)] });
    assert.equal(await codeOf(createClient(ApiKeyService, transport).authenticateApiKey({ apiKey: stack.tenantA.apiKey })), Code.Unimplemented);
    const attach = createClient(InvoiceDocumentService, transport).attachDocuments({ eventId: "e", tenantId: stack.tenantA.id });
    assert.equal(await codeOf(attach), Code.Unimplemented);
  });
});

describe("hostile bodies", () => {
  const post = (body: string, contentType: string, headers: Record<string, string> = {}) =>
    fetch(`${stack.gatewayUrl}/invoicer.v1.InvoiceService/CreateInvoice`, {
      method: "POST",
      body,
      headers: { authorization: `Bearer ${stack.tenantA.apiKey}`, "content-type": contentType, ...headers },
    });

  it("answers garbage, truncated and oversized bodies with specific codes and stores nothing", async () => {
    const [before] = await stack.database.sql`select count(*)::int as n from invoices`;
    const json = await post('{"currencyCode": 5', "application/json");
    assert.equal(((await json.json()) as { code: string }).code, "invalid_argument");
    const wrongType = await post("hello", "text/plain");
    assert.equal(wrongType.status, 415);
    const huge = toJsonString(CreateInvoiceRequestSchema, sampleInvoice({ note: "n".repeat(2 * 1024 * 1024) }));
    const oversized = await post(huge, "application/json");
    assert.equal(oversized.status, 429);
    assert.equal(((await oversized.json()) as { code: string }).code, "resource_exhausted");
    const [afterwards] = await stack.database.sql`select count(*)::int as n from invoices`;
    assert.equal(afterwards!.n, before!.n);
  });

  it("answers a body that is not protobuf with invalid_argument in every protocol", async () => {
    const garbage = Buffer.alloc(12, 0xff); // an endless varint: no message decodes from it
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, garbage.length]), garbage]);
    const connect = await post(garbage.toString("latin1"), "application/proto");
    assert.equal(connect.status, 400);
    assert.equal(((await connect.json()) as { code: string }).code, "invalid_argument");

    const grpcWeb = await fetch(`${stack.gatewayUrl}/invoicer.v1.InvoiceService/CreateInvoice`, {
      method: "POST",
      body: framed,
      headers: { authorization: `Bearer ${stack.tenantA.apiKey}`, "content-type": "application/grpc-web+proto" },
    });
    assert.match(Buffer.from(await grpcWeb.arrayBuffer()).toString("latin1"), /grpc-status: ?3\r\n/);

    const session = http2.connect(stack.gatewayUrl);
    try {
      const grpc = session.request({
        ":method": "POST",
        ":path": "/invoicer.v1.InvoiceService/CreateInvoice",
        "content-type": "application/grpc",
        te: "trailers",
        authorization: `Bearer ${stack.tenantA.apiKey}`,
      });
      const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) => grpc.on("trailers", resolve));
      grpc.end(framed);
      grpc.resume();
      assert.equal((await trailers)["grpc-status"], "3");
    } finally {
      session.close();
    }
  });

  it("caps message size on the server too, when no length is declared", async () => {
    const client = stack.client(stack.tenantA, "grpc-web");
    const code = await codeOf(client.createInvoice(sampleInvoice({ note: "n".repeat(2 * 1024 * 1024) })));
    assert.equal(code, Code.ResourceExhausted);
  });

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
      assert.equal(body.status, 500);
      assert.deepEqual(JSON.parse(text), { code: "internal", message: "internal error" });
      assert.doesNotMatch(text, /insert|select|postgres|\/work|\.ts|at /i);
      assert.equal((await fetch(`${broken.gatewayUrl}/healthz`)).status, 200);
    } finally {
      await broken.close();
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
      assert.equal(await codeOf(limited.client(limited.tenantB).listInvoices({})), "ok");
    } finally {
      await limited.close();
    }
  });

  it("answers preflights for allowed origins with Connect's headers and ignores other origins", async () => {
    const preflight = (origin: string) =>
      fetch(`${stack.gatewayUrl}/invoicer.v1.InvoiceService/CreateInvoice`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type,x-grpc-web" },
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
