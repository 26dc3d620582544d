// Limits that hold across gateway replicas (issue 18, item 4): two gateways in front of one server,
// the stack's (in this process) and a second one in its own process, share each key's rate limit
// through the server's LeaseRateTokens, and a revoked key stops working on both within the lease
// lifetime (RATE_LIMIT_LEASE_TTL_MS).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout } from "node:timers/promises";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { InvoiceService } from "@invoicer/sdk";
import { ApiKeyService } from "@invoicer/sdk/invoicer/v1/internal_service_pb";
import { freePort } from "@invoicer/devstack/ports";
import { buildGateway } from "../gateway/src/app.ts";
import { loadGatewayConfig } from "../gateway/src/config.ts";
import { keyRateLimit, type KeyRateLimitOptions } from "../gateway/src/key-rate-limit.ts";
import { serverTransport } from "../gateway/src/server-trust.ts";
import { createLogger } from "@invoicer/platform/logger";
import { startObservability } from "@invoicer/platform/observability";
import { createApiKey, revokeApiKey } from "../server/src/api-key-admin.ts";
import { httpOk, serviceProcess, type ServiceProcess } from "@invoicer/devstack/service-process";
import { eventually } from "./support/events.ts";
import { gatewayTransport, startStack, type Stack } from "./support/stack.ts";

const rate = 20;
const burst = 20;
const leaseMs = 100;
const leaseTtlMs = 1_000;
/** What one lease takes: 100 ms of 20 per second. */
const leaseSize = Math.max(1, Math.floor((rate * leaseMs) / 1000));
const gateways = 2;

let stack: Stack;
let second: ServiceProcess;
let secondUrl: string;
const logDir = mkdtempSync(join(tmpdir(), "fleet-limits-"));

before(async () => {
  stack = await startStack({ rateLimitPerSecond: rate, rateLimitBurst: burst, rateLimitLeaseMs: leaseMs, rateLimitLeaseTtlMs: leaseTtlMs });
  const port = await freePort();
  secondUrl = `http://127.0.0.1:${port}`;
  const env = {
    INTERNAL_TOKEN: stack.internalToken,
    SERVER_URL: stack.serverUrl,
    GATEWAY_PORT: String(port),
    RATE_LIMIT_PER_SECOND: String(rate),
    RATE_LIMIT_BURST: String(burst),
    RATE_LIMIT_LEASE_MS: String(leaseMs),
    RATE_LIMIT_LEASE_TTL_MS: String(leaseTtlMs),
    // Both gateways' callers are 127.0.0.1: only the per-key limit is under test.
    RATE_LIMIT_PER_ADDRESS: "1000000",
    KEY_CHECKS_PER_ADDRESS: "1000000",
    LOG_LEVEL: "warn",
  };
  second = serviceProcess("gateway-2", "gateway/src/main.ts", env, httpOk(`${secondUrl}/readyz`), join(logDir, "gateway-2.log"));
  await second.start();
});
after(async () => {
  await second?.stop();
  await stack?.close();
  rmSync(logDir, { recursive: true, force: true });
});

const codeOf = (call: Promise<unknown>) =>
  call.then(
    () => "ok",
    (err: unknown) => ConnectError.from(err).code,
  );
const clientOf = (gatewayUrl: string, apiKey: string) =>
  createClient(InvoiceService, gatewayTransport(gatewayUrl, apiKey, "connect-binary"));

/** ListInvoices through one gateway from `loops` callers at once until `until`, counted by answer. */
async function hammer(gatewayUrl: string, apiKey: string, until: number, loops = 4) {
  const client = clientOf(gatewayUrl, apiKey);
  const counts = { ok: 0, limited: 0, other: [] as string[] };
  await Promise.all(
    Array.from({ length: loops }, async () => {
      while (performance.now() < until) {
        const code = await codeOf(client.listInvoices({}));
        if (code === "ok") counts.ok++;
        else if (code === Code.ResourceExhausted) counts.limited++;
        else counts.other.push(String(code));
      }
    }),
  );
  return { ...counts, asked: counts.ok + counts.limited + counts.other.length };
}

describe("the per-key rate limit across gateways", () => {
  it("lets the fleet through at most rate x seconds + burst + one lease per gateway, though each gateway alone is asked for more", async (t) => {
    const { apiKey } = await createApiKey(stack.database.db, "fleet-rate");
    const started = performance.now();
    const until = started + 3_000;
    const counts = await Promise.all([hammer(stack.gatewayUrl, apiKey, until), hammer(secondUrl, apiKey, until)]);
    const seconds = (performance.now() - started) / 1000;
    const bound = burst + rate * seconds + gateways * leaseSize;
    const accepted = counts[0].ok + counts[1].ok;
    t.diagnostic(
      `accepted ${accepted} (${counts[0].ok} + ${counts[1].ok}) of ${counts[0].asked} + ${counts[1].asked} calls ` +
        `in ${seconds.toFixed(2)} s; bound ${bound.toFixed(1)}`,
    );
    assert.deepEqual([...counts[0].other, ...counts[1].other], [], "every call was answered OK or ResourceExhausted");
    assert.ok(accepted <= bound, `accepted ${accepted} > bound ${bound.toFixed(1)}`);
    for (const [i, c] of counts.entries()) {
      assert.ok(c.asked > bound, `gateway ${i + 1} alone was asked for more than the fleet may take (${c.asked})`);
      assert.ok(c.ok > 0, `gateway ${i + 1} got a share`);
    }
    assert.ok(accepted >= (burst + rate * seconds) / 2, `the limit is not stricter than it says: ${accepted} accepted`);
  });

  it("takes tokens from the server's bucket atomically, however many leases arrive at once", async () => {
    const { apiKey } = await createApiKey(stack.database.db, "fleet-atomic");
    const keys = createClient(ApiKeyService, serverTransport(stack.serverUrl, stack.internalToken));
    const started = performance.now();
    const leases = await Promise.all(
      Array.from({ length: 40 }, () => keys.leaseRateTokens({ apiKey, tokens: 1, ratePerSecond: 1, burst: 10 })),
    );
    const granted = leases.reduce((sum, l) => sum + l.granted, 0);
    const refill = Math.floor((performance.now() - started) / 1000);
    assert.ok(granted >= 10 && granted <= 10 + refill, `granted ${granted} of a bucket of 10 (+${refill} refilled)`);
    const empty = leases.find((l) => l.granted === 0);
    assert.ok(empty && empty.retryAfterMs > 0 && empty.retryAfterMs <= 1000, "an empty bucket says when its next token is due");
    const refused = (call: Promise<unknown>) => codeOf(call);
    assert.equal(await refused(keys.leaseRateTokens({ apiKey, tokens: 11, ratePerSecond: 1, burst: 10 })), Code.InvalidArgument);
    assert.equal(
      await refused(keys.leaseRateTokens({ apiKey, tokens: 1, returnedTokens: 11, ratePerSecond: 1, burst: 10 })),
      Code.InvalidArgument,
      "no more given back than the bucket holds",
    );
    assert.equal(
      await refused(keys.leaseRateTokens({ apiKey: `inv_${"0".repeat(32)}`, tokens: 1, ratePerSecond: 1, burst: 10 })),
      Code.Unauthenticated,
    );
    const outsider = createClient(ApiKeyService, serverTransport(stack.serverUrl, "not-the-internal-token"));
    assert.equal(await refused(outsider.leaseRateTokens({ apiKey, tokens: 1, ratePerSecond: 1, burst: 10 })), Code.Unauthenticated);
  });
});

/** `n` gateways' per-key limits (key-rate-limit.ts) leasing from the stack server's real buckets, each counting its leases. */
function simulatedGateways(n: number, options: KeyRateLimitOptions) {
  return Array.from({ length: n }, () => {
    const transport = serverTransport(stack.serverUrl, stack.internalToken);
    const counted = { leases: 0 };
    const counting: Transport = {
      unary: (...args) => (counted.leases++, transport.unary(...args)),
      stream: (...args) => transport.stream(...args),
    };
    return Object.assign(counted, { allow: keyRateLimit(createClient(ApiKeyService, counting), options) });
  });
}

/**
 * Calls the key through each gateway at its rate per second (evenly spaced, staggered) for `ms`:
 * the calls offered and accepted from `countFromMs` on.
 */
async function offer(gateways: ReturnType<typeof simulatedGateways>, apiKey: string, perSecond: number[], ms: number, countFromMs = 0) {
  const started = performance.now();
  const counted = { offered: 0, accepted: 0 };
  await Promise.all(
    gateways.map(async (gateway, i) => {
      const period = 1000 / perSecond[i]!;
      for (let at = (period * i) / gateways.length; at < ms; at += period) {
        await setTimeout(Math.max(0, started + at - performance.now()));
        const allowed = (await gateway.allow(apiKey)).kind === "allowed";
        if (at < countFromMs) continue;
        counted.offered++;
        if (allowed) counted.accepted++;
      }
    }),
  );
  return { ...counted, seconds: (performance.now() - started - countFromMs) / 1000, leases: gateways.map((g) => g.leases) };
}

describe("one key spread over twelve gateways", () => {
  // The README's defaults.
  const fleet = { perSecond: 100, burst: 200, leaseMs: 100, leaseTtlMs: 1_000 };
  const gateways = 12;
  /** A key whose burst is spent: it lives on its rate from the start. */
  const spentKey = async (name: string) => {
    const { apiKey } = await createApiKey(stack.database.db, name);
    const keys = createClient(ApiKeyService, serverTransport(stack.serverUrl, stack.internalToken));
    await keys.leaseRateTokens({ apiKey, tokens: fleet.burst, ratePerSecond: fleet.perSecond, burst: fleet.burst });
    return apiKey;
  };

  it("gets what it asks for below its limit: tokens a gateway leased and did not spend are not lost", async (t) => {
    const apiKey = await spentKey("fleet-spread-below");
    // 82 calls per second in all: 60 through one gateway, 2 through each of the others, whose leases of 10 lapse mostly unspent.
    // Counted from the first lease lifetime on: at the start each gateway takes a whole lease it spends over a second.
    const perGateway = [60, ...Array<number>(gateways - 1).fill(2)];
    const run = await offer(simulatedGateways(gateways, fleet), apiKey, perGateway, 5_000, fleet.leaseTtlMs);
    t.diagnostic(`accepted ${run.accepted} of ${run.offered} in ${run.seconds.toFixed(2)} s; leases per gateway ${run.leases.join(" ")}`);
    // Within 10 %: a gateway that spent its lease waits until the bucket holds a whole one, though it may hold part of one.
    assert.ok(run.accepted >= 0.9 * run.offered, `accepted ${run.accepted} of ${run.offered} calls, all within the key's limit`);
  });

  it("gets close to its limit above it, and each gateway asks the bucket about once per lease's refill", async (t) => {
    const apiKey = await spentKey("fleet-spread-above");
    // 180 calls per second in all, 15 at each gateway, against 100.
    const run = await offer(simulatedGateways(gateways, fleet), apiKey, Array<number>(gateways).fill(15), 3_000);
    const limit = fleet.perSecond * run.seconds;
    const bound = limit + gateways * 10;
    t.diagnostic(
      `accepted ${run.accepted} of ${run.offered} in ${run.seconds.toFixed(2)} s (limit ${limit.toFixed(0)}); leases ${run.leases.join(" ")}`,
    );
    assert.ok(run.accepted <= bound, `accepted ${run.accepted} > ${bound.toFixed(0)}`);
    assert.ok(run.accepted >= 0.9 * limit, `accepted ${run.accepted}, under 90 % of the limit ${limit.toFixed(0)}`);
    // A lease of 10 refills in 100 ms; one more per lease lifetime lapses, and one to start.
    const most = Math.ceil(run.seconds * (1000 / fleet.leaseMs + 1000 / fleet.leaseTtlMs)) + 1;
    for (const leases of run.leases) assert.ok(leases <= most, `a gateway asked ${leases} times, more than ${most}`);
  });
});

describe("revocation across gateways", () => {
  it("refuses a revoked key on both gateways within the lease lifetime", async (t) => {
    const { apiKey } = await createApiKey(stack.database.db, "fleet-revoked");
    const clients = [clientOf(stack.gatewayUrl, apiKey), clientOf(secondUrl, apiKey)];
    // Both gateways hold the key in their caches and a lease of its tokens.
    for (const client of clients) assert.equal(await codeOf(client.listInvoices({})), "ok");
    assert.equal(await revokeApiKey(stack.database.db, apiKey), true);
    const revokedAt = performance.now();
    const refusedAfterMs = await Promise.all(
      clients.map((client, i) =>
        eventually(
          async () => (await codeOf(client.listInvoices({}))) === Code.Unauthenticated && performance.now() - revokedAt,
          `gateway ${i + 1} to refuse the revoked key`,
          leaseTtlMs + 500,
          10,
        ),
      ),
    );
    t.diagnostic(`refused after ${refusedAfterMs.map((ms) => ms.toFixed(0)).join(" and ")} ms (lease lifetime ${leaseTtlMs} ms)`);
    for (const client of clients) assert.equal(await codeOf(client.listInvoices({})), Code.Unauthenticated, "and from then on");
  });

  it("answers Unavailable, never 'unknown key', on a gateway whose internal token the server refuses (a botched rotation)", async () => {
    const { apiKey } = await createApiKey(stack.database.db, "fleet-wrong-token");
    const config = loadGatewayConfig({ INTERNAL_TOKEN: "not-the-servers-internal-token", SERVER_URL: stack.serverUrl });
    const gateway = await buildGateway(
      config,
      createLogger("gateway", "silent"),
      startObservability("gateway", { serviceName: "wrong-token" }),
    );
    try {
      const answer = await gateway.inject({ method: "GET", url: "/v1/invoices", headers: { authorization: `Bearer ${apiKey}` } });
      assert.equal(answer.statusCode, 503, answer.body);
      assert.equal(answer.json().details[0].reason, "AUTHENTICATION_UNAVAILABLE");
    } finally {
      await gateway.close();
    }
    assert.equal(await codeOf(clientOf(stack.gatewayUrl, apiKey).listInvoices({})), "ok", "the key itself is good");
  });
});
