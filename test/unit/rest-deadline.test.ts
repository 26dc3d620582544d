// A server that takes API keys but never answers an invoice call: REST callers get 504 within
// REST_TIMEOUT_MS, not a request that hangs in the gateway for as long as the server does.
import assert from "node:assert/strict";
import { createServer, type Http2Server, type ServerHttp2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { InvoiceService } from "@invoicer/sdk";
import { ApiKeyService } from "@invoicer/sdk/invoicer/v1/internal_service_pb";
import { createLogger } from "@invoicer/platform/logger";
import { startObservability } from "@invoicer/platform/observability";
import { buildGateway } from "../../gateway/src/app.ts";
import { loadGatewayConfig } from "../../gateway/src/config.ts";

const apiKey = `inv_${"a".repeat(32)}`;
const restTimeoutMs = 300;
let server: Http2Server;
const sessions = new Set<ServerHttp2Session>();
let gateway: Awaited<ReturnType<typeof buildGateway>>;

/** Never answers: resolves nothing until the caller's deadline aborts it. */
const silent = (_req: unknown, ctx: { signal: AbortSignal }) =>
  new Promise<never>((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));

before(async () => {
  const handler = connectNodeAdapter({
    routes: (router) => {
      router.service(ApiKeyService, {
        authenticateApiKey: async () => ({ tenantId: "11111111-1111-4111-8111-111111111111" }),
        leaseRateTokens: async ({ tokens }) => ({ granted: tokens, retryAfterMs: 0 }),
      });
      router.service(InvoiceService, { getInvoice: silent, listInvoices: silent, createInvoice: silent, getInvoiceDocument: silent });
    },
  });
  server = createServer(handler);
  server.on("session", (session) => sessions.add(session));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const config = loadGatewayConfig({
    INTERNAL_TOKEN: "internal-token-for-this-test",
    SERVER_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    REST_TIMEOUT_MS: String(restTimeoutMs),
  });
  gateway = await buildGateway(config, createLogger("gateway", "silent"), startObservability("gateway", { serviceName: "rest-deadline" }));
});
after(async () => {
  // Calls still waiting (a gateway without the deadline) fail with their connection, so close() returns.
  for (const session of sessions) session.destroy();
  server?.close();
  await gateway?.close();
});

describe("REST calls to a server that does not answer", () => {
  it("answer 504 after REST_TIMEOUT_MS: POST /v1/invoices", { timeout: 5_000 }, async () => {
    const headers = { authorization: `Bearer ${apiKey}`, "content-type": "application/json" };
    const answer = await gateway.inject({ method: "POST", url: "/v1/invoices", headers, payload: "{}" });
    assert.equal(answer.statusCode, 504, answer.body);
  });

  for (const url of [
    "/v1/invoices",
    "/v1/invoices/11111111-1111-4111-8111-111111111111",
    "/v1/invoices/11111111-1111-4111-8111-111111111111/pdf",
  ]) {
    it(`answer 504 after REST_TIMEOUT_MS: GET ${url}`, { timeout: 5_000 }, async () => {
      const started = performance.now();
      const answer = await gateway.inject({ method: "GET", url, headers: { authorization: `Bearer ${apiKey}` } });
      const ms = performance.now() - started;
      assert.equal(answer.statusCode, 504, answer.body);
      assert.equal(answer.json().code, "deadline_exceeded");
      assert.ok(ms >= restTimeoutMs && ms < restTimeoutMs + 2_000, `answered after ${ms.toFixed(0)} ms`);
    });
  }
});
