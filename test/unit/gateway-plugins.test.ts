// Fast tests of the gateway's plugins one by one, each on a bare Fastify app with inject() (or one
// local port where the raw request matters); keys and readiness come from in-memory services.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { Code, createClient, createRouterTransport } from "@connectrpc/connect";
import { ApiKeyService } from "@invoicer/sdk/invoicer/v1/internal_service_pb";
import { createLogger } from "@invoicer/platform/logger";
import { startObservability } from "@invoicer/platform/observability";
import Fastify, { type FastifyInstance } from "fastify";
import { addressLimits } from "../../gateway/src/address-limits.ts";
import { apiKeyAuthentication } from "../../gateway/src/authenticate.ts";
import { browserCors } from "../../gateway/src/browser-cors.ts";
import { errorAnswers } from "../../gateway/src/error-answers.ts";
import { healthRoutes } from "../../gateway/src/health.ts";
import { metricsRoute } from "../../gateway/src/metrics-route.ts";
import { exchangeOf } from "../../gateway/src/exchange.ts";
import { requestObservation } from "../../gateway/src/exchange-plugin.ts";
import { observeRequests } from "../../gateway/src/request-observation.ts";
import { trustedHeaders } from "../../gateway/src/server-trust.ts";
import { unknownApiKey } from "@invoicer/platform/error-details";

const validKey = `inv_${"a".repeat(32)}`;
const tenant = "11111111-1111-4111-8111-111111111111";
const internalToken = "unit-test-internal-token-0123456789";

/**
 * A key service in memory that knows `validKey` (until `revoked` holds it), noting each key it is
 * asked about; its rate-limit leases take from one bucket per key that never refills.
 */
function keyService(asked: string[] = [], revoked = new Set<string>()) {
  const known = (apiKey: string) => {
    if (apiKey !== validKey || revoked.has(apiKey)) throw unknownApiKey();
  };
  const buckets = new Map<string, number>();
  const transport = createRouterTransport((router) =>
    router.service(ApiKeyService, {
      authenticateApiKey({ apiKey }) {
        asked.push(apiKey);
        known(apiKey);
        return { tenantId: tenant };
      },
      leaseRateTokens({ apiKey, tokens, ratePerSecond, burst }) {
        known(apiKey);
        const granted = Math.min(tokens, buckets.get(apiKey) ?? burst);
        buckets.set(apiKey, (buckets.get(apiKey) ?? burst) - granted);
        return { granted, retryAfterMs: granted > 0 ? 0 : Math.ceil(1000 / ratePerSecond) };
      },
    }),
  );
  return createClient(ApiKeyService, transport);
}

/** A bare app with the error answers, as the gateway registers them first. */
async function appWith(register: (app: FastifyInstance) => PromiseLike<unknown>) {
  const app = Fastify();
  await app.register(errorAnswers);
  await register(app);
  return app;
}

describe("apiKeyAuthentication", () => {
  const asked: string[] = [];
  const revoked = new Set<string>();
  let app: FastifyInstance;
  const call = (url: string, headers: Record<string, string>, remoteAddress = "10.0.0.1") =>
    app.inject({ method: "POST", url, headers: { "content-type": "application/json", ...headers }, payload: "{}", remoteAddress });
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  after(() => app?.close());

  it("notes the tenant of a good key, asking the server once, and leaves it empty without authentication", async () => {
    app = await appWith(async (app) => {
      await app.register(addressLimits, { perSecond: 1_000 });
      await app.register(apiKeyAuthentication, {
        keyService: keyService(asked, revoked),
        apiKeyCacheMs: 60_000,
        keyChecksPerAddress: 2,
        rateLimitPerSecond: 1,
        rateLimitBurst: 2,
        rateLimitLeaseMs: 100,
        rateLimitLeaseTtlMs: 60_000,
        maxBodyBytes: 1024,
      });
      app.post("/rpc", { onRequest: app.authenticate }, async (request) => ({ tenant: request.tenantId }));
      app.post("/rest", { onRequest: app.authenticateRest }, async (request) => ({ tenant: request.tenantId }));
      app.post("/open", async (request) => ({ tenant: request.tenantId }));
    });
    assert.deepEqual((await call("/rpc", bearer(validKey))).json(), { tenant });
    assert.deepEqual((await call("/rest", bearer(validKey))).json(), { tenant });
    assert.deepEqual(asked, [validKey]);
    assert.deepEqual((await call("/open", {})).json(), { tenant: "" });
  });

  it("applies the key's rate limit after its burst", async () => {
    const refused = await call("/rpc", bearer(validKey));
    assert.equal(refused.statusCode, 429);
    assert.equal(refused.headers["retry-after"], "1");
    assert.equal(refused.json().message, "rate limit exceeded for this API key");
  });

  it("refuses a declared oversize body before the key: in the RPC's protocol, or 413 for REST", async () => {
    const big = { ...bearer(validKey), "content-length": "4096" };
    const rpc = await app.inject({ method: "POST", url: "/rpc", headers: { "content-type": "application/json", ...big } });
    assert.equal(rpc.statusCode, 429);
    assert.equal(rpc.json().code, "resource_exhausted");
    const rest = await app.inject({ method: "POST", url: "/rest", headers: { "content-type": "application/json", ...big } });
    assert.equal(rest.statusCode, 413);
  });

  it("asks about unknown keys within the address's budget only", async () => {
    const unknown = (n: number) => bearer(`inv_${String(n).repeat(32)}`);
    assert.equal((await call("/rpc", unknown(1), "10.0.0.2")).json().message, "unknown or revoked API key");
    assert.equal((await call("/rpc", unknown(2), "10.0.0.2")).statusCode, 401);
    const third = await call("/rpc", unknown(3), "10.0.0.2");
    assert.equal(third.statusCode, 429);
    assert.equal(third.headers["retry-after"], "60");
    assert.equal(asked.length, 3, "the third unknown key is not asked about");
    assert.equal((await call("/rpc", unknown(3), "10.0.0.3")).statusCode, 401, "another address has its own budget");
  });

  it("refuses a cached key the server has since revoked at its next lease, and remembers it as revoked", async () => {
    const checked: string[] = [];
    const revokedKeys = new Set<string>();
    const gateway = await appWith(async (app) => {
      await app.register(addressLimits, { perSecond: 1_000 });
      await app.register(apiKeyAuthentication, {
        keyService: keyService(checked, revokedKeys),
        apiKeyCacheMs: 60_000,
        keyChecksPerAddress: 100,
        rateLimitPerSecond: 100,
        rateLimitBurst: 100,
        rateLimitLeaseMs: 20,
        rateLimitLeaseTtlMs: 60_000,
        maxBodyBytes: 1024,
      });
      app.post("/rpc", { onRequest: app.authenticate }, async () => ({}));
    });
    // Leases of two tokens (20 ms of 100 per second).
    const rpc = () =>
      gateway.inject({ method: "POST", url: "/rpc", headers: { "content-type": "application/json", ...bearer(validKey) }, payload: "{}" });
    assert.equal((await rpc()).statusCode, 200);
    revokedKeys.add(validKey);
    assert.equal((await rpc()).statusCode, 200, "a token of the lease before the revocation");
    const refused = await rpc();
    assert.equal(refused.statusCode, 401, "the next lease learns of the revocation");
    assert.equal(refused.json().message, "unknown or revoked API key");
    assert.equal((await rpc()).statusCode, 401);
    assert.deepEqual(checked, [validKey], "the revoked key is answered from the cache, not checked again");
    await gateway.close();
  });
});

describe("addressLimits", () => {
  it("refuses an address over its rate with Retry-After, and puts no rate headers on the answers within it", async () => {
    const app = await appWith(async (app) => {
      await app.register(addressLimits, { perSecond: 2 });
      app.get("/thing", async () => "ok");
    });
    const answers = [await app.inject({ url: "/thing" }), await app.inject({ url: "/thing" }), await app.inject({ url: "/thing" })];
    assert.deepEqual(
      answers.map((a) => a.statusCode),
      [200, 200, 429],
    );
    for (const a of answers.slice(0, 2))
      assert.deepEqual(
        Object.keys(a.headers).filter((h) => h.startsWith("x-ratelimit")),
        [],
      );
    assert.ok(Number(answers[2]!.headers["retry-after"]) >= 1);
    await app.close();
  });
});

describe("errorAnswers", () => {
  it("answers no route and errors in the caller's protocol", async () => {
    const app = await appWith(async (app) => {
      app.post("/bad", async () => {
        throw Object.assign(new Error("bad input"), { statusCode: 400 });
      });
      app.route({
        method: ["GET", "POST"],
        url: "/bug",
        handler: async () => {
          throw new Error("secret detail");
        },
      });
    });
    assert.deepEqual((await app.inject({ url: "/nowhere" })).json(), { code: "not_found", message: "no such route" });
    // Every error also carries google.rpc.ErrorInfo: its reason shows in the detail's debug JSON.
    const withoutDetails = (body: { details?: { debug: { reason: string } }[] }) => {
      const { details, ...rest } = body;
      return { ...rest, reasons: details?.map((d) => d.debug.reason) };
    };
    assert.deepEqual(withoutDetails((await app.inject({ method: "POST", url: "/bad" })).json()), {
      code: "invalid_argument",
      message: "bad input",
      reasons: ["INVALID_REQUEST"],
    });
    const bug = await app.inject({ method: "POST", url: "/bug" });
    assert.equal(bug.statusCode, 500);
    assert.deepEqual(withoutDetails(bug.json()), { code: "internal", message: "internal error", reasons: ["INTERNAL"] });
    const grpcWeb = await app.inject({ method: "GET", url: "/bug", headers: { "content-type": "application/grpc-web+proto" } });
    assert.equal(grpcWeb.statusCode, 200);
    assert.equal(grpcWeb.headers["grpc-status"], String(Code.Internal));
    await app.close();
  });
});

describe("browserCors", () => {
  it("answers preflights from the listed origins only", async () => {
    const app = await appWith(async (app) => {
      await app.register(browserCors, { origins: ["https://app.example"] });
      app.post("/invoicer.v1.InvoiceService/ListInvoices", async () => ({}));
    });
    const preflight = (origin: string) =>
      app.inject({
        method: "OPTIONS",
        url: "/invoicer.v1.InvoiceService/ListInvoices",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization,connect-protocol-version",
        },
      });
    const listed = await preflight("https://app.example");
    assert.equal(listed.headers["access-control-allow-origin"], "https://app.example");
    assert.match(String(listed.headers["access-control-allow-headers"]), /Authorization/);
    assert.equal((await preflight("https://elsewhere.example")).headers["access-control-allow-origin"], undefined);
    await app.close();
  });
});

describe("metricsRoute", () => {
  it("answers a scrape with the token only", async () => {
    const { metrics } = startObservability("gateway", { serviceName: "unit" });
    const app = await appWith((app) => app.register(metricsRoute, { token: "scrape-token", metrics }));
    assert.equal((await app.inject({ url: "/metrics" })).statusCode, 401);
    assert.equal((await app.inject({ url: "/metrics", headers: { authorization: "Bearer other-token!" } })).statusCode, 401);
    const scrape = await app.inject({ url: "/metrics", headers: { authorization: "Bearer scrape-token" } });
    assert.equal(scrape.statusCode, 200);
    await app.close();
  });
});

describe("healthRoutes", () => {
  it("is ready while a server endpoint is SERVING, and alive regardless", async () => {
    for (const [serving, expected] of [
      [true, 200],
      [false, 503],
    ] as const) {
      const app = await appWith((app) => app.register(healthRoutes, { serverServing: () => serving }));
      assert.equal((await app.inject({ url: "/readyz" })).statusCode, expected);
      assert.equal((await app.inject({ url: "/healthz" })).statusCode, 200);
      await app.close();
    }
  });
});

describe("requestObservation", () => {
  it("gives Fastify the exchange observeRequests opened: its request id, route and trace headers", async () => {
    const lines: Record<string, unknown>[] = [];
    const log = createLogger("unit", "info", { write: (line: string) => void lines.push(JSON.parse(line)) });
    const app = Fastify({
      loggerInstance: log,
      serverFactory: (handler) =>
        createServer(observeRequests(handler, startObservability("gateway", { serviceName: "unit" }), log, new Set())),
      genReqId: (raw) => exchangeOf(raw)?.requestId ?? "none",
    });
    await app.register(requestObservation);
    app.get("/v1/things/:id", async (request) => ({
      id: request.id,
      route: request.exchange?.route,
      headers: trustedHeaders(internalToken)(request),
    }));
    await app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = app.server.address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${port}/v1/things/7`, { headers: { "x-request-id": "req-42" } });
    const answer = (await response.json()) as { id: string; route: string; headers: Record<string, string> };
    assert.equal(answer.id, "req-42");
    assert.equal(answer.route, "/v1/things/:id");
    assert.equal(answer.headers["x-request-id"], "req-42");
    assert.match(answer.headers.traceparent ?? "", /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    await app.close();
    const line = lines.find((l) => l.msg === "request");
    assert.equal(line?.request_id, "req-42");
    assert.equal(line?.status, 200);
  });
});
