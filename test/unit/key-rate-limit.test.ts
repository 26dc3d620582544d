// Fast tests of the per-key limit's leases (gateway/src/key-rate-limit.ts) against an in-memory
// LeaseRateTokens that keeps one bucket per key, as the server's table does; time is mocked.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { ApiKeyService } from "@invoicer/sdk/invoicer/v1/internal_service_pb";
import { keyRateLimit, type KeyRateLimitOptions } from "../../gateway/src/key-rate-limit.ts";
import { unknownApiKey } from "@invoicer/platform/error-details";

const key = `inv_${"a".repeat(32)}`;

/** One fleet-wide bucket per key in memory (refilled from the mocked clock), noting each lease it is asked for. */
function bucketService() {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const leases: number[] = [];
  const returned: number[] = [];
  const state = { revoked: false, down: false, wrongToken: false, held: Promise.resolve() };
  const client = createClient(
    ApiKeyService,
    createRouterTransport((router) =>
      router.service(ApiKeyService, {
        async leaseRateTokens({ apiKey, tokens, returnedTokens, ratePerSecond, burst }) {
          await state.held;
          if (state.down) throw new ConnectError("the database is unavailable; retry later", Code.Unavailable);
          if (state.revoked) throw unknownApiKey();
          if (state.wrongToken) throw new ConnectError("missing or invalid internal token", Code.Unauthenticated);
          const now = Date.now();
          const bucket = buckets.get(apiKey) ?? { tokens: burst, at: now };
          bucket.tokens = Math.min(burst, bucket.tokens + returnedTokens + ((now - bucket.at) / 1000) * ratePerSecond);
          returned.push(returnedTokens);
          bucket.at = now;
          const granted = Math.min(tokens, Math.floor(bucket.tokens));
          bucket.tokens -= granted;
          buckets.set(apiKey, bucket);
          leases.push(granted);
          const msUntil = (held: number) => Math.max(0, Math.ceil(((held - bucket.tokens) / ratePerSecond) * 1000));
          return { granted, retryAfterMs: granted > 0 ? 0 : msUntil(1), nextLeaseAfterMs: msUntil(tokens) };
        },
      }),
    ),
  );
  return { client, leases, returned, state };
}

const options = (o: Partial<KeyRateLimitOptions> = {}): KeyRateLimitOptions => ({
  perSecond: 100,
  burst: 30,
  leaseMs: 100,
  leaseTtlMs: 1_000,
  ...o,
});

/** How many of `n` calls, one after another, the limit lets through. */
async function allowedOf(allow: (k: string) => Promise<{ kind: string }>, n: number) {
  let allowed = 0;
  for (let i = 0; i < n; i++) if ((await allow(key)).kind === "allowed") allowed++;
  return allowed;
}

const mockClock = (t: TestContext) => t.mock.timers.enable({ apis: ["Date"], now: 1_000_000 });

describe("keyRateLimit", () => {
  it("leases a tenth of a second's worth of the rate at a time: one server call per lease, not per call", async (t) => {
    mockClock(t);
    const service = bucketService();
    const allow = keyRateLimit(service.client, options());
    assert.equal(await allowedOf(allow, 25), 25);
    assert.deepEqual(service.leases, [10, 10, 10]);
  });

  it("holds the key's limit across gateways that share the server's bucket", async (t) => {
    mockClock(t);
    const service = bucketService();
    const gateways = [keyRateLimit(service.client, options()), keyRateLimit(service.client, options())];
    let allowed = 0;
    for (let i = 0; i < 40; i++) allowed += (await gateways[i % 2]!(key)).kind === "allowed" ? 1 : 0;
    assert.equal(allowed, 30, "the burst, once, for both gateways together");
    for (const allow of gateways) assert.equal(await allowedOf(allow, 40), 0);
    t.mock.timers.tick(100);
    assert.equal((await gateways[0]!(key)).kind, "allowed", "ten tokens came back in 100 ms");
  });

  it("refuses locally, without asking again, until the server said a token is due", async (t) => {
    mockClock(t);
    const service = bucketService();
    const allow = keyRateLimit(service.client, options({ perSecond: 2, burst: 1 }));
    assert.deepEqual(await allow(key), { kind: "allowed" });
    assert.deepEqual(await allow(key), { kind: "limited", waitMs: 500 });
    const asked = service.leases.length;
    t.mock.timers.tick(200);
    assert.deepEqual(await allow(key), { kind: "limited", waitMs: 300 });
    assert.equal(service.leases.length, asked, "the refusal was answered here");
    t.mock.timers.tick(300);
    assert.deepEqual(await allow(key), { kind: "allowed" });
  });

  it("asks an empty bucket at most once per lease's refill (leaseMs), not once per token, however hard the key floods", async (t) => {
    mockClock(t);
    const service = bucketService();
    const allow = keyRateLimit(service.client, options());
    await allowedOf(allow, 30);
    const before = service.leases.length;
    let allowed = 0;
    // One second of a flood: ten calls every millisecond at one gateway, against 100 per second.
    for (let ms = 0; ms < 1_000; ms++) {
      t.mock.timers.tick(1);
      allowed += await allowedOf(allow, 10);
    }
    const asked = service.leases.length - before;
    assert.ok(asked <= 11, `the bucket was asked ${asked} times in one second; a lease of 10 refills every 100 ms`);
    assert.ok(allowed >= 90 && allowed <= 100, `the key got its rate: ${allowed} calls in one second`);
  });

  it("gives tokens unspent within the lease's lifetime back to the bucket with its next lease", async (t) => {
    mockClock(t);
    const service = bucketService();
    const allow = keyRateLimit(service.client, options({ leaseTtlMs: 50 }));
    const other = keyRateLimit(service.client, options());
    await allow(key);
    assert.equal(await allowedOf(other, 20), 20, "the rest of the bucket, on another gateway");
    t.mock.timers.tick(50);
    await allow(key);
    assert.deepEqual(service.leases, [10, 10, 10, 10], "nine tokens lapsed; the second call needed a new lease");
    assert.deepEqual(service.returned, [0, 0, 0, 9], "and the nine went back");
    const third = keyRateLimit(service.client, options());
    assert.equal(await allowedOf(third, 10), 4, "a third gateway gets what is left: 5 refilled in 50 ms + 9 given back - 10 taken");
  });

  it("shares one lease among the calls waiting for it", async () => {
    const service = bucketService();
    let release = () => {};
    service.state.held = new Promise((r) => (release = r));
    const allow = keyRateLimit(service.client, options());
    const calls = Array.from({ length: 8 }, () => allow(key));
    release();
    assert.ok((await Promise.all(calls)).every((a) => a.kind === "allowed"));
    assert.deepEqual(service.leases, [10]);
  });

  it("says revoked when the server no longer knows the key, and unavailable (refused, never allowed) when it cannot answer", async () => {
    const service = bucketService();
    const allow = keyRateLimit(service.client, options({ leaseMs: 10 }));
    assert.equal((await allow(key)).kind, "allowed");
    service.state.down = true;
    const unavailable = await allow(key);
    assert.equal(unavailable.kind, "unavailable");
    assert.equal(unavailable.kind === "unavailable" && ConnectError.from(unavailable.err).code, Code.Unavailable);
    service.state.down = false;
    service.state.revoked = true;
    assert.deepEqual(await allow(key), { kind: "revoked" });
  });

  it("says unavailable, not revoked, when the server refuses the gateway's internal token", async () => {
    const service = bucketService();
    const allow = keyRateLimit(service.client, options({ leaseMs: 10 }));
    service.state.wrongToken = true;
    const refused = await allow(key);
    assert.equal(refused.kind, "unavailable");
    service.state.wrongToken = false;
    assert.equal((await allow(key)).kind, "allowed", "the key was never taken for revoked");
  });
});

describe("the gateway's own calls to a server that does not answer", () => {
  it("gives up on a lease after its deadline: the call is refused, not held", async () => {
    const service = bucketService();
    service.state.held = new Promise(() => {});
    const allow = keyRateLimit(service.client, options({ callTimeoutMs: 50 }));
    const answer = await allow(key);
    assert.equal(answer.kind, "unavailable");
    assert.equal(answer.kind === "unavailable" && ConnectError.from(answer.err).code, Code.DeadlineExceeded);
  });

  it("waits for a lease slower than the lease's lifetime (a busy server): the calls are served, not refused", async () => {
    const service = bucketService();
    service.state.held = new Promise((r) => setTimeout(r, 150));
    const allow = keyRateLimit(service.client, options({ leaseTtlMs: 50, callTimeoutMs: 5_000 }));
    const answers = await Promise.all([allow(key), allow(key)]);
    assert.deepEqual(
      answers.map((a) => a.kind),
      ["allowed", "allowed"],
    );
    assert.deepEqual(service.leases, [10], "one lease, answered after its lifetime had passed, serves both");
  });
});
