// Fast tests of the gateway's plugins one by one, each on a bare Fastify app with inject() (or one
// local port where the raw request matters); keys and readiness come from in-memory services.
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders } from "node:http";
import { once } from "node:events";
import * as http2 from "node:http2";
import { connect, type AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { Code, createClient, createRouterTransport } from "@connectrpc/connect";
import { HealthCheckResponse_ServingStatus as Status, Health } from "@invoicer/sdk/grpc/health/v1/health_pb";
import { ApiKeyService } from "@invoicer/sdk/invoicer/v1/internal_service_pb";
import { internalTokenHeader, tenantHeader } from "@invoicer/platform/internal-auth";
import { createLogger } from "@invoicer/platform/logger";
import { startObservability } from "@invoicer/platform/observability";
import { createDualServer } from "@invoicer/platform/http-server";
import Fastify, { type FastifyInstance, type FastifyServerOptions } from "fastify";
import { addressLimits } from "../../gateway/src/address-limits.ts";
import { apiKeyAuthentication } from "../../gateway/src/authenticate.ts";
import { browserCors } from "../../gateway/src/browser-cors.ts";
import { errorAnswers } from "../../gateway/src/error-answers.ts";
import { healthRoutes } from "../../gateway/src/health.ts";
import { metricsRoute } from "../../gateway/src/metrics.ts";
import { exchangeOf, observeRequests, requestObservation } from "../../gateway/src/observe.ts";
import { rpcForwarding } from "../../gateway/src/rpc-proxy.ts";
import { trustedHeaders } from "../../gateway/src/server-calls.ts";
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
async function appWith(register: (app: FastifyInstance) => PromiseLike<unknown>, options?: FastifyServerOptions) {
  const app = Fastify(options);
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
  const healthSaying = (status: Status) =>
    createClient(
      Health,
      createRouterTransport((router) => router.service(Health, { check: () => ({ status }), watch: async function* () {} })),
    );

  it("is ready while the server is SERVING, and alive regardless", async () => {
    for (const [status, expected] of [
      [Status.SERVING, 200],
      [Status.NOT_SERVING, 503],
    ] as const) {
      const app = await appWith((app) => app.register(healthRoutes, { health: healthSaying(status) }));
      assert.equal((await app.inject({ url: "/readyz" })).statusCode, expected);
      assert.equal((await app.inject({ url: "/healthz" })).statusCode, 200);
      await app.close();
    }
  });
});

describe("rpcForwarding", () => {
  /**
   * A server on the platform's dual server (as the real one: it resets an answered stream's upload),
   * answering every call at once without reading its body, and noting the headers of each.
   */
  async function upstream() {
    const seen: IncomingHttpHeaders[] = [];
    const server = createDualServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
    await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => server.close() };
  }

  /** The forwarding alone, every caller authenticated as `tenant` (a stand-in for apiKeyAuthentication). */
  const forwardingTo = (serverUrl: string, options?: FastifyServerOptions) =>
    appWith(async (app) => {
      app.decorateRequest("tenantId", "");
      app.decorate("authenticate", async (request) => void (request.tenantId = tenant));
      await app.register(rpcForwarding, {
        serverUrl,
        services: [{ name: "invoicer.v1.InvoiceService", authenticate: true }],
        trustedHeaders: trustedHeaders(internalToken),
      });
    }, options);

  it("replaces the trust headers a client sends, and keeps gRPC off HTTP/1.1", async () => {
    const server = await upstream();
    const app = await forwardingTo(server.url);
    const forged = {
      authorization: `Bearer ${validKey}`,
      [tenantHeader]: "someone-else",
      [internalTokenHeader]: "forged",
      "content-type": "application/json",
    };
    const connect = await app.inject({ method: "POST", url: "/invoicer.v1.InvoiceService/ListInvoices", headers: forged, payload: "{}" });
    assert.equal(connect.statusCode, 200);
    assert.equal(server.seen.length, 1);
    assert.equal(server.seen[0]![tenantHeader], tenant);
    assert.equal(server.seen[0]![internalTokenHeader], internalToken);
    assert.equal(server.seen[0]!.authorization, undefined);
    const grpc = await app.inject({
      method: "POST",
      url: "/invoicer.v1.InvoiceService/ListInvoices",
      headers: { "content-type": "application/grpc" },
    });
    assert.equal(grpc.headers["grpc-status"], String(Code.Unimplemented));
    assert.equal(server.seen.length, 1, "gRPC over HTTP/1.1 is not forwarded");
    await app.close();
    server.close();
  });

  it("forwards HTTP/1.1 calls without the connection's own headers, which HTTP/2 forbids, and never a path out of the service", async () => {
    const server = await upstream();
    const app = await forwardingTo(server.url);
    const hopByHop = { "keep-alive": "timeout=5", "proxy-connection": "keep-alive", te: "gzip", expect: "100-continue" };
    const call = (url: string) =>
      app.inject({ method: "POST", url, headers: { ...hopByHop, "content-type": "application/json" }, payload: "{}" });
    assert.equal((await call("/invoicer.v1.InvoiceService/ListInvoices")).statusCode, 200);
    for (const name of Object.keys(hopByHop)) assert.equal(server.seen[0]![name], undefined, `${name} is not forwarded`);
    for (const url of [
      "/invoicer.v1.InvoiceService/..%2Finvoicer.v1.ApiKeyService%2FAuthenticateApiKey",
      "/invoicer.v1.InvoiceService/ListInvoices/",
      "/invoicer.v1.InvoiceService/ListInvoices/x",
    ]) {
      const answer = await call(url);
      assert.equal(answer.statusCode, 501, url);
      assert.equal(answer.json().code, "unimplemented", url);
    }
    assert.equal(server.seen.length, 1, "no other path reached the server");
    await app.close();
    server.close();
  });

  it("answers Unavailable in the caller's protocol when the server cannot be reached", async () => {
    const gone = await upstream();
    gone.close(); // nothing listens on its port any more
    const app = await forwardingTo(gone.url, { serverFactory: (handler) => createDualServer(handler) });
    const connect = await app.inject({
      method: "POST",
      url: "/invoicer.v1.InvoiceService/ListInvoices",
      headers: { "content-type": "application/json" },
      payload: "{}",
    });
    assert.equal(connect.statusCode, 503);
    assert.equal(connect.json().code, "unavailable");
    await app.listen({ port: 0, host: "127.0.0.1" });
    const session = http2.connect(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`);
    const call = session.request({
      ":method": "POST",
      ":path": "/invoicer.v1.InvoiceService/ListInvoices",
      "content-type": "application/grpc",
    });
    call.end(Buffer.alloc(5));
    const [headers] = (await once(call, "response")) as [http2.IncomingHttpHeaders];
    assert.equal(headers["grpc-status"], String(Code.Unavailable), "a trailers-only gRPC answer");
    session.close();
    await app.close();
  });

  // The timeout turns the stalled connection into a failure; nothing is timed.
  it(
    "drops the rest of a body the server answered without reading, so the HTTP/1.1 connection serves the next call",
    { timeout: 10_000 },
    async () => {
      const server = await upstream();
      const app = await forwardingTo(server.url, { serverFactory: (handler) => createDualServer(handler) });
      await app.listen({ port: 0, host: "127.0.0.1" });
      const socket = connect((app.server.address() as AddressInfo).port, "127.0.0.1");
      let received = "";
      const answers = (count: number) =>
        new Promise<void>((done) => {
          const read = (chunk: Buffer) => {
            received += chunk.toString("latin1");
            if (received.split("HTTP/1.1 200").length > count) done(void socket.off("data", read));
          };
          socket.on("data", read);
        });
      const head = (length: number) =>
        `POST /invoicer.v1.InvoiceService/CreateInvoice HTTP/1.1\r\nhost: gateway\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n\r\n`;
      const body = Buffer.alloc(200_000, 0x20);
      // The first call's head and a little of its body: the server answers from that.
      socket.write(head(body.length) + body.subarray(0, 1_000).toString("latin1"));
      await answers(1);
      // The rest of that body, then a second call on the same connection.
      socket.write(body.subarray(1_000));
      socket.write(`${head(2)}{}`);
      await answers(2);
      socket.destroy();
      await app.close();
      server.close();
    },
  );
});

describe("requestObservation", () => {
  it("gives Fastify the exchange observeRequests opened: its request id, route and trace headers", async () => {
    const lines: Record<string, unknown>[] = [];
    const log = createLogger("unit", "info", { write: (line: string) => void lines.push(JSON.parse(line)) });
    const app = Fastify({
      loggerInstance: log,
      serverFactory: (handler) => createServer(observeRequests(handler, startObservability("gateway", { serviceName: "unit" }), log)),
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
