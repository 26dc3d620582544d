// Issue 30: one tenant cannot take the server from the others. The server bounds each tenant's
// calls in flight (MAX_CALLS_PER_TENANT), whichever gateway they come through: tenant A's calls are
// held open on a row lock the test takes in PostgreSQL, and tenant B goes on being served.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "@invoicer/sdk/google/rpc/error_details_pb";
import { eventually } from "./support/events.ts";
import { sampleInvoice, startStack, type Stack } from "./support/stack.ts";

const maxCallsPerTenant = 3;
let stack: Stack;

before(async () => {
  stack = await startStack({}, undefined, { maxCallsPerTenant });
});
after(() => stack?.close());

const errorOf = (call: Promise<unknown>) =>
  call.then(
    () => undefined,
    (err: unknown) => ConnectError.from(err),
  );

/** Server statements of this test's database waiting for a lock. */
async function waitingOnLocks(on = stack) {
  const [row] = await on.database.sql<{ n: number }[]>`
    select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`;
  return row!.n;
}

/** Holds tenant A's invoice counter row until `release` is called: A's CreateInvoice calls wait on it. */
async function holdCounterOf(tenantId: string, on = stack) {
  let release = () => {};
  const released = new Promise<void>((r) => (release = r));
  let locked = () => {};
  const isLocked = new Promise<void>((r) => (locked = r));
  const holding = on.database.sql.begin(async (tx) => {
    await tx`select 1 from invoice_counters where tenant_id = ${tenantId} for update`;
    locked();
    await released;
  });
  await isLocked;
  return { release: () => (release(), holding) };
}

describe("calls in flight per tenant on the server", () => {
  it("refuses a tenant's call past MAX_CALLS_PER_TENANT with ResourceExhausted while another tenant is served", async () => {
    const a = stack.client(stack.tenantA);
    const b = stack.client(stack.tenantB);
    await a.createInvoice(sampleInvoice());
    const counter = await holdCounterOf(stack.tenantA.id);
    const held = Array.from({ length: maxCallsPerTenant }, () => a.createInvoice(sampleInvoice()));
    try {
      await eventually(async () => (await waitingOnLocks()) === maxCallsPerTenant, "tenant A's creates to wait on the lock", 10_000, 20);
      const refused = await errorOf(a.listInvoices({}));
      assert.equal(refused?.code, Code.ResourceExhausted, `tenant A's next call: ${refused?.message}`);
      assert.match(refused.rawMessage, /at most 3 calls in flight per tenant/);
      assert.equal(refused.findDetails(ErrorInfoSchema)[0]?.reason, "TOO_MANY_CALLS_IN_FLIGHT");
      // Tenant B, meanwhile, is served as if A were not there.
      const { invoice } = await b.createInvoice(sampleInvoice());
      assert.equal((await b.getInvoice({ id: invoice!.id })).invoice?.id, invoice!.id);
      assert.ok((await b.listInvoices({})).invoices.length > 0);
    } finally {
      await counter.release();
    }
    for (const call of await Promise.all(held)) assert.ok(call.invoice?.id, "A's held calls complete once the lock is gone");
    assert.ok((await a.listInvoices({})).invoices.length >= maxCallsPerTenant + 1, "and A is served again");
  });

  it("frees a tenant's place when its call fails", async () => {
    const a = stack.client(stack.tenantA);
    for (let i = 0; i < maxCallsPerTenant + 2; i++) {
      const err = await errorOf(a.getInvoice({ id: "00000000-0000-4000-8000-000000000000" }));
      assert.equal(err?.code, Code.NotFound, `call ${i + 1}: ${err?.message}`);
    }
  });
});

describe("a tenant's share of the server's database pool", () => {
  let shared: Stack;
  // The server's defaults: a pool of 20 connections, 20 calls in flight per tenant.
  // cuttableDatabase: the server has a pool of its own, apart from the one this test reads PostgreSQL with.
  before(async () => (shared = await startStack({}, undefined, { maxCallsPerTenant: 20, cuttableDatabase: true })));
  after(() => shared?.close());

  it("runs at most half the pool of one tenant's calls at once: the rest wait their turn, and another tenant finds connections", async () => {
    const a = shared.client(shared.tenantA);
    await a.createInvoice(sampleInvoice());
    const counter = await holdCounterOf(shared.tenantA.id, shared);
    const held = Array.from({ length: 20 }, () => a.createInvoice(sampleInvoice()));
    try {
      await eventually(async () => (await waitingOnLocks(shared)) >= 10, "tenant A's creates to wait on the lock", 10_000, 20);
      const { invoice } = await shared.client(shared.tenantB).createInvoice(sampleInvoice(), { timeoutMs: 3_000 });
      assert.ok(invoice?.id, "tenant B's create");
      assert.equal(await waitingOnLocks(shared), 10, "A's calls holding a connection");
    } finally {
      await counter.release();
    }
    for (const call of await Promise.all(held)) assert.ok(call.invoice?.id, "every one of A's calls completes in its turn");
  });
});
