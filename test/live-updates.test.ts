// WatchInvoices when the database connection it listens on drops, and under too many streams
// (issue 13, items 6 and 8): a stream never stays "live" while it misses events. One tenant's burst
// of notifications ends only that tenant's streams (issue 30, item 10a).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { createLogger } from "@invoicer/platform/logger";
import { createInvoiceWatch } from "../server/src/invoices/watch.ts";
import { outboxChannel } from "../server/src/outbox/outbox-writer.ts";
import { eventually, watchInvoices } from "./support/events.ts";
import { sampleInvoice } from "@invoicer/devstack/samples";
import { startStack, type Stack } from "./support/stack.ts";

let stack: Stack;
before(async () => {
  stack = await startStack({}, undefined, { watchMaxPerTenant: 3 });
});
after(() => stack.close());

/** Drops the server's LISTEN connection from the database side, as a failover or a restart would. */
async function dropListener() {
  const dropped = await stack.database.sql`
    select pg_terminate_backend(pid) from pg_stat_activity
    where application_name = 'invoicer-outbox-listener' and datname = current_database()`;
  assert.equal(dropped.length, 1);
}

describe("live updates", () => {
  it("ends open streams with Unavailable when notifications may have been missed, then listens again", { timeout: 30_000 }, async () => {
    const client = stack.client(stack.tenantA);
    const watch = await watchInvoices(client);
    // Handled before the drop: the stream can end before pg_terminate_backend's answer comes back
    // (Node 26 showed it), and a rejection nobody handles yet fails the test.
    const streamEnd = watch.ended.then(
      () => "ended without an error",
      (err: unknown) => err,
    );
    await dropListener();
    const ending = await streamEnd;
    assert.ok(ending instanceof ConnectError, `the stream ${String(ending)}`);
    assert.equal(ending.code, Code.Unavailable);
    assert.match(ending.rawMessage, /reconnect/);
    // The listener comes back by itself, and a new stream is live again.
    await eventually(async () => stack.notifications.listening(), "the listener to listen again");
    const again = await watchInvoices(client);
    const { invoice } = await client.createInvoice(sampleInvoice());
    await again.until((events) => events.some((e) => e.invoiceId === invoice!.id));
    again.close();
  });

  it("allows each tenant a bounded number of open streams in a server", async () => {
    const a = stack.client(stack.tenantA);
    const open = [await watchInvoices(a), await watchInvoices(a), await watchInvoices(a)];
    try {
      const fourth = await watchInvoices(a).then(
        (w) => (w.close(), "opened"),
        (err: unknown) => err,
      );
      assert.ok(fourth instanceof ConnectError, `the fourth stream ${String(fourth)}`);
      assert.equal(fourth.code, Code.ResourceExhausted);
      const other = await watchInvoices(stack.client(stack.tenantB));
      other.close();
    } finally {
      for (const w of open) w.close();
    }
    await eventually(async () => stack.watch.watching() === 0, "the streams to close");
  });

  it("ends only the streams of a tenant whose notifications pile up, not every tenant's", async () => {
    // A watch of its own on the stack's listener, with room for 20 notifications waiting to be read.
    const watch = createInvoiceWatch(stack.database.sql, stack.notifications, createLogger("test", "silent"), {
      keepAliveMs: 60_000,
      maxPendingNotifications: 20,
    });
    const abort = new AbortController();
    const [a, b] = [stack.tenantA, stack.tenantB].map((t) => watch.subscribe(t.id, abort.signal)[Symbol.asyncIterator]());
    try {
      for (const live of [a!, b!]) assert.deepEqual(await live.next(), { done: false, value: undefined }, "live marker");
      // Tenant A's burst: 200 notifications in one commit, arriving faster than the outbox is read.
      await stack.database.sql`
        select pg_notify(${outboxChannel}, ${stack.tenantA.id} || '/' || gen_random_uuid()) from generate_series(1, 200)`;
      const endOfA = await a!.next().then(
        (r) => `yielded ${JSON.stringify(r)}`,
        (err: unknown) => err,
      );
      assert.ok(endOfA instanceof ConnectError, `tenant A's stream ${String(endOfA)}`);
      assert.equal(endOfA.code, Code.Unavailable);
      // Tenant B's stream is still live (asked before B's next event exists, so an ended stream says so) and gets that event.
      const nextOfB = b!.next();
      const { invoice } = await stack.client(stack.tenantB).createInvoice(sampleInvoice());
      assert.equal((await nextOfB).value?.invoiceId, invoice!.id);
    } finally {
      abort.abort();
      await Promise.allSettled([a!.return?.(), b!.return?.()]);
      await watch.stop();
    }
  });
});
