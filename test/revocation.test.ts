// Revoking an API key (issue 30, items 4 and 10c): its open WatchInvoices streams end within the
// bound its new calls are refused in (RATE_LIMIT_LEASE_TTL_MS), and revoke-api-key takes a key's id,
// its printed prefix, or the whole secret on stdin.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { isUnknownApiKey } from "@invoicer/platform/error-details";
import { createLogger } from "@invoicer/platform/logger";
import { createApiKey, hashApiKey, revokeApiKey } from "../server/src/api-key-admin.ts";
import { createInvoiceWatch } from "../server/src/invoices/watch.ts";
import { eq } from "drizzle-orm";
import { apiKeys } from "../server/src/db/schema.ts";
import { eventually, watchInvoices } from "./support/events.ts";
import { sampleInvoice } from "@invoicer/devstack/samples";
import { startStack, type Stack } from "./support/stack.ts";

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

/** Runs revoke-api-key with `args`, writing `stdin` to it (closed empty when none). */
function revokeCli(args: string[], stdin = ""): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["server/src/cli/revoke-api-key.ts", ...args], {
    env: { ...process.env, DATABASE_URL: stack.databaseUrl },
  });
  const out = { stdout: "", stderr: "" };
  child.stdout.on("data", (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out.stderr += d.toString()));
  child.stdin.end(stdin);
  return new Promise((done) => child.on("close", (code) => done({ code, ...out })));
}

/** Whether the key is still active in the database. */
async function active(apiKey: string) {
  const [row] = await stack.database.db
    .select({ revokedAt: apiKeys.revokedAt })
    .from(apiKeys)
    .where(eq(apiKeys.keyHash, hashApiKey(apiKey)));
  return row !== undefined && row.revokedAt === null;
}

const codeOf = (call: Promise<unknown>) =>
  call.then(
    () => "ok",
    (err: unknown) => ConnectError.from(err).code,
  );

describe("the revoke-api-key CLI", () => {
  it("revokes by the key's id, which the gateway then refuses, and says when the key was not active", async () => {
    const { apiKey, keyId } = await createApiKey(stack.database.db, "cli-by-id");
    const client = stack.client({ id: "", apiKey });
    assert.equal(await codeOf(client.listInvoices({})), "ok");
    const revoked = await revokeCli([keyId]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(revoked.stdout, `revoked key ${keyId} (${apiKey.slice(0, 8)}...)\n`);
    await eventually(
      async () => (await codeOf(client.listInvoices({}))) === Code.Unauthenticated,
      "the gateway to refuse the key",
      leaseTtlMs + 500,
      10,
    );
    const again = await revokeCli([keyId]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /unknown or already revoked/);
  });

  it("revokes by the printed prefix, and refuses a prefix two active keys share", async () => {
    const { apiKey, keyId } = await createApiKey(stack.database.db, "cli-by-prefix");
    const prefix = apiKey.slice(0, 8);
    const [twin] = await stack.database.db
      .insert(apiKeys)
      .values({ tenantId: stack.tenantA.id, keyHash: randomBytes(32).toString("hex"), keyPrefix: prefix })
      .returning({ id: apiKeys.id });
    const ambiguous = await revokeCli([prefix]);
    assert.equal(ambiguous.code, 1);
    assert.match(ambiguous.stderr, new RegExp(`${prefix} names 2 active keys.*${keyId}`, "s"));
    assert.match(ambiguous.stderr, new RegExp(twin!.id));
    assert.equal(await active(apiKey), true, "nothing was revoked");
    await stack.database.db.delete(apiKeys).where(eq(apiKeys.id, twin!.id));
    const revoked = await revokeCli([`${prefix}...`]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(revoked.stdout, `revoked key ${keyId} (${prefix}...)\n`);
    assert.equal(await active(apiKey), false);
  });

  it("reads a whole key from stdin, and refuses one on the command line without printing it", async () => {
    const { apiKey, keyId } = await createApiKey(stack.database.db, "cli-stdin");
    const onArgv = await revokeCli([apiKey]);
    assert.equal(onArgv.code, 2);
    assert.match(onArgv.stderr, /stdin/);
    assert.ok(!onArgv.stderr.includes(apiKey) && !onArgv.stdout.includes(apiKey), "the secret is not echoed");
    assert.equal(await active(apiKey), true);
    const fromStdin = await revokeCli(["-"], `${apiKey}\n`);
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    assert.equal(fromStdin.stdout, `revoked key ${keyId} (${apiKey.slice(0, 8)}...)\n`);
    assert.equal(await active(apiKey), false);
  });
});
