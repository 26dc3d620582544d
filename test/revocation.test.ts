// Revoking an API key (issue 30, items 4 and 10c): its open WatchInvoices streams end within the
// bound its new calls are refused in (RATE_LIMIT_LEASE_TTL_MS), and revoke-api-key takes a key's id,
// its printed prefix, or the whole secret on stdin.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { isUnknownApiKey } from "@invoicer/platform/error-details";
import { createLogger } from "@invoicer/platform/logger";
import { createApiKey, hashApiKey, revokeApiKey } from "../server/src/api-keys.ts";
import { createInvoiceWatch } from "../server/src/invoices/watch.ts";
import { watchInvoices } from "./support/events.ts";
import { sampleInvoice, startStack, type Stack } from "./support/stack.ts";

const leaseTtlMs = 1_000;

let stack: Stack;
before(async () => {
  stack = await startStack({ rateLimitLeaseTtlMs: leaseTtlMs });
});
after(() => stack.close());

/** How a stream ended, or "still open" when it has not within `withinMs`. */
function endOf(ended: Promise<void>, withinMs: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise((resolve) => (timer = setTimeout(() => resolve(`still open after ${withinMs} ms`), withinMs)));
  const ending = ended.then(
    () => "ended without an error",
    (err: unknown) => err,
  );
  return Promise.race([ending, deadline]).finally(() => clearTimeout(timer));
}

describe("revoking a key with open WatchInvoices streams", () => {
  it("ends the key's open streams with Unauthenticated within the lease lifetime, and only that key's", async (t) => {
    const { apiKey } = await createApiKey(stack.database.db, "tenant-a");
    const revokedKeysWatch = await watchInvoices(stack.client({ id: stack.tenantA.id, apiKey }));
    const othersWatch = await watchInvoices(stack.client(stack.tenantA));
    try {
      assert.equal(await revokeApiKey(stack.database.db, apiKey), true);
      const revokedAt = performance.now();
      const ending = await endOf(revokedKeysWatch.ended, leaseTtlMs);
      t.diagnostic(`ended after ${(performance.now() - revokedAt).toFixed(0)} ms`);
      assert.ok(ending instanceof ConnectError, `the revoked key's stream: ${String(ending)}`);
      assert.equal(ending.code, Code.Unauthenticated);
      assert.ok(isUnknownApiKey(ending), "the same answer as a call with the revoked key");
      // The tenant's other key watches on.
      const { invoice } = await stack.client(stack.tenantA).createInvoice(sampleInvoice());
      await othersWatch.until((events) => events.some((e) => e.invoiceId === invoice!.id));
    } finally {
      revokedKeysWatch.close();
      othersWatch.close();
    }
  });

  it("ends a stream at once when its key was revoked before the server opened it", async () => {
    const { apiKey } = await createApiKey(stack.database.db, "tenant-b");
    assert.equal(await revokeApiKey(stack.database.db, apiKey), true);
    const watch = createInvoiceWatch(stack.database.sql, stack.notifications, createLogger("test", "silent"));
    const abort = new AbortController();
    try {
      const stream = watch.subscribe(stack.tenantB.id, abort.signal, hashApiKey(apiKey))[Symbol.asyncIterator]();
      const first = await stream.next().then(
        (r) => `yielded ${JSON.stringify(r)}`,
        (err: unknown) => err,
      );
      assert.ok(first instanceof ConnectError, `the stream ${String(first)}`);
      assert.equal(first.code, Code.Unauthenticated);
      assert.equal(watch.watching(), 0);
    } finally {
      abort.abort();
      await watch.stop();
    }
  });
});
