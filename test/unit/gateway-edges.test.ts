// Fast tests of the gateway's edges with Fastify's inject() and an in-memory key service: nothing
// listens, and the server URL points nowhere, so a call that reached the server would be Unavailable.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { ApiKeyService } from "@invoicer/sdk/invoicer/v1/internal_service_pb";
import { createLogger } from "@invoicer/platform/logger";
import { startObservability } from "@invoicer/platform/observability";
import { apiKeyResolver, KeyCheckBudgetError, KeyCheckBusyError } from "../../gateway/src/key-checks.ts";
import { buildGateway } from "../../gateway/src/app.ts";
import { loadGatewayConfig } from "../../gateway/src/config.ts";
import { unknownApiKey } from "@invoicer/platform/error-details";

const validKey = `inv_${"a".repeat(32)}`;
const tenant = "11111111-1111-4111-8111-111111111111";

/** A key service in memory that knows `validKey`, counting the questions it is asked, each held until `answer()`. */
function keyService() {
  const asked: string[] = [];
  const state = { wrongToken: false };
  let release = () => {};
  let held = Promise.resolve();
  const client = createClient(
    ApiKeyService,
    createRouterTransport((router) =>
      router.service(ApiKeyService, {
        async authenticateApiKey({ apiKey }) {
          asked.push(apiKey);
          await held;
          if (state.wrongToken) throw new ConnectError("missing or invalid internal token", Code.Unauthenticated);
          if (apiKey !== validKey) throw unknownApiKey();
          return { tenantId: tenant };
        },
      }),
    ),
  );
  return {
    client,
    asked,
    state,
    hold: () => {
      held = new Promise((r) => (release = r));
    },
    answer: () => release(),
  };
}

describe("API key answers", () => {
  it("are remembered, unknown keys too, and concurrent checks of one key share one question", async () => {
    const service = keyService();
    const keys = apiKeyResolver(service.client, 60_000);
    const always = async () => true;
    service.hold();
    const checks = [keys.check(validKey, always), keys.check(validKey, always), keys.check("inv_unknown", always)];
    service.answer();
    assert.deepEqual(await Promise.all(checks), [tenant, tenant, null]);
    assert.deepEqual(service.asked, [validKey, "inv_unknown"]);
    assert.equal(keys.cached(validKey), tenant);
    assert.equal(keys.cached("inv_unknown"), null);
    assert.equal(keys.cached("inv_never_asked"), undefined);
  });

  it("are not asked for past the address's budget, nor past the checks in flight", async () => {
    const service = keyService();
    const keys = apiKeyResolver(service.client, 60_000, 2);
    await assert.rejects(
      keys.check(validKey, async () => false),
      KeyCheckBudgetError,
    );
    assert.deepEqual(service.asked, []);
    service.hold();
    const waiting = [keys.check("inv_1", async () => true), keys.check("inv_2", async () => true)];
    await assert.rejects(
      keys.check("inv_3", async () => true),
      KeyCheckBusyError,
    );
    service.answer();
    await Promise.all(waiting);
  });

  it("are given up on after the call's deadline when the server does not answer: the check fails, the key is not cached", async () => {
    const service = keyService();
    const keys = apiKeyResolver(service.client, 60_000, 64, 10_000, 50);
    service.hold();
    await assert.rejects(
      keys.check(validKey, async () => true),
      (err) => ConnectError.from(err).code === Code.DeadlineExceeded,
    );
    assert.equal(keys.cached(validKey), undefined);
    service.answer();
  });
});

describe("the key cache", () => {
  it("keeps the tenants' keys through a flood of made-up ones", async () => {
    const service = keyService();
    const keys = apiKeyResolver(service.client, 60_000, 64, 20);
    const always = async () => true;
    assert.equal(await keys.check(validKey, always), tenant);
    for (let i = 0; i < 100; i++) assert.equal(await keys.check(`inv_${String(i).padStart(32, "x")}`, always), null);
    assert.equal(keys.cached(validKey), tenant, "the good key is still cached");
    assert.equal(keys.cached(`inv_${"99".padStart(32, "x")}`), null, "the latest bad ones are too");
  });
});

describe("a server that refuses the gateway's internal token", () => {
  it("fails the check: the key is neither taken for unknown nor cached", async () => {
    const service = keyService();
    const keys = apiKeyResolver(service.client, 60_000);
    service.state.wrongToken = true;
    await assert.rejects(
      keys.check(validKey, async () => true),
      (err) => ConnectError.from(err).code === Code.Unauthenticated,
    );
    assert.equal(keys.cached(validKey), undefined);
    service.state.wrongToken = false;
    assert.equal(await keys.check(validKey, async () => true), tenant);
  });
});

describe("the gateway's edges", () => {
  let gateway: Awaited<ReturnType<typeof buildGateway>>;
  before(async () => {
    const config = {
      ...loadGatewayConfig({ INTERNAL_TOKEN: "unit-test-internal-token-0123456789", SERVER_URL: "http://127.0.0.1:9" }),
      webDir: "/nonexistent",
      rateLimitPerAddress: 20,
    };
    gateway = await buildGateway(config, createLogger("unit", "silent"), startObservability("gateway", { serviceName: "unit" }));
  });
  after(() => gateway.close());

  const post = (url: string, headers: Record<string, string> = {}) =>
    gateway.inject({ method: "POST", url, headers: { "content-type": "application/json", ...headers }, payload: "{}" });

  it("refuses a missing or malformed key without asking the server", async () => {
    const missing = await post("/invoicer.v1.InvoiceService/ListInvoices");
    assert.equal(missing.json().code, "unauthenticated");
    const malformed = await post("/invoicer.v1.InvoiceService/ListInvoices", { authorization: "Bearer not-a-key" });
    const { details, ...malformedError } = malformed.json();
    assert.deepEqual(malformedError, { code: "unauthenticated", message: "malformed API key" });
    assert.equal(details[0].debug.reason, "API_KEY_INVALID");
    assert.equal(missing.json().details[0].debug.reason, "API_KEY_MISSING");
    const rest = await gateway.inject({
      method: "POST",
      url: "/v1/invoices",
      headers: { "content-type": "application/json" },
      payload: "{not json",
    });
    assert.equal(rest.statusCode, 401, "the key is checked before the body is parsed");
  });

  it("answers procedures it does not forward as Connect servers do", async () => {
    const unknown = await post("/connectrpc.conformance.v1.ConformanceService/Unary");
    assert.equal(unknown.statusCode, 404);
    const verb = await gateway.inject({ method: "PUT", url: "/invoicer.v1.InvoiceService/GetInvoice" });
    assert.equal(verb.statusCode, 405);
    assert.equal(verb.headers.allow, "GET, POST");
    const grpc = await gateway.inject({
      method: "POST",
      url: "/invoicer.v1.Nope/Call",
      headers: { "content-type": "application/grpc-web+proto" },
    });
    assert.equal(grpc.headers["grpc-status"], String(Code.Unimplemented));
  });

  it("limits the requests of one address before anything else, key or not", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++)
      statuses.push((await gateway.inject({ method: "GET", url: "/healthz", remoteAddress: "10.0.0.7" })).statusCode);
    assert.equal(statuses.filter((s) => s === 200).length, 20);
    assert.deepEqual(statuses.slice(20), [429, 429, 429, 429, 429]);
    assert.equal(
      (await gateway.inject({ method: "GET", url: "/healthz", remoteAddress: "10.0.0.8" })).statusCode,
      200,
      "another address is not limited",
    );
    const forwarded = { "x-forwarded-for": "203.0.113.9" };
    assert.equal(
      (await gateway.inject({ method: "GET", url: "/healthz", remoteAddress: "10.0.0.7", headers: forwarded })).statusCode,
      429,
      "without TRUST_PROXY, X-Forwarded-For names no other client",
    );
  });

  it("reads TRUST_PROXY as Fastify does, and refuses what names no address", () => {
    const config = (TRUST_PROXY?: string) =>
      loadGatewayConfig({ INTERNAL_TOKEN: "unit-test-internal-token-0123456789", ...(TRUST_PROXY !== undefined && { TRUST_PROXY }) });
    assert.equal(config().connections.trustedProxy, undefined);
    assert.equal(config("").connections.trustedProxy, undefined);
    const trusted = config("uniquelocal, 100.64.0.0/10").connections.trustedProxy!;
    assert.deepEqual(["10.1.2.3", "::ffff:192.168.0.5", "100.64.1.1", "203.0.113.1", "127.0.0.1"].map(trusted), [
      true,
      true,
      true,
      false,
      false,
    ]);
    assert.throws(() => config("true"), /TRUST_PROXY must list addresses/);
  });

  it("counts the addresses of one IPv6 /64 as one address", async () => {
    const statusFrom = async (remoteAddress: string) =>
      (await gateway.inject({ method: "GET", url: "/healthz", remoteAddress })).statusCode;
    for (let i = 0; i < 20; i++) assert.equal(await statusFrom(`2001:db8:1:2::${i + 1}`), 200);
    assert.equal(await statusFrom("2001:db8:1:2:ffff::7"), 429, "a fresh address in the same /64 is limited");
    assert.equal(await statusFrom("2001:db8:1:3::1"), 200, "the next /64 is not");
  });
});
