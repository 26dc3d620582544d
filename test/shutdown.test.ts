// A deploy's SIGTERM to a server under load (issue 13, item 7): calls in flight finish and commit,
// open WatchInvoices streams end so their clients reconnect elsewhere, new connections are refused.
import assert from "node:assert/strict";
import * as http from "node:http";
import { after, before, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { eventually, watchInvoices } from "./support/events.ts";
import { sampleInvoice } from "@invoicer/devstack/samples";
import { startStack, type Stack } from "./support/stack.ts";

let stack: Stack;
before(async () => {
  stack = await startStack();
});
after(() => stack.close());

/** Creates waiting on the tenant's counter row, which a test transaction holds. */
const waitingCreates = async () =>
  (
    await stack.database
      .sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`
  )[0]!.n;

it("finishes the calls in flight when it drains, and refuses new ones", { timeout: 60_000 }, async () => {
  const client = stack.client(stack.tenantA);
  await client.createInvoice(sampleInvoice()); // the tenant's counter row exists from here on
  const watch = await watchInvoices(client);

  // Hold the counter row so that the next creates are in flight, inside their transactions, when the drain starts.
  let release!: () => void;
  let locked!: () => void;
  const isLocked = new Promise<void>((r) => (locked = r));
  const holder = stack.database.sql.begin(async (tx) => {
    await tx`select 1 from invoice_counters where tenant_id = ${stack.tenantA.id} for update`;
    locked();
    await new Promise<void>((r) => (release = r));
  });
  await isLocked;
  const inFlight = Array.from({ length: 5 }, () =>
    client.createInvoice(sampleInvoice()).then(
      (r) => r.invoice!,
      (err: unknown) => ConnectError.from(err),
    ),
  );
  await eventually(async () => (await waitingCreates()) === 5, "five creates waiting on the counter row");

  const draining = stack.drainServer(30_000);
  const streamEnd = watch.ended.then(
    () => "ended without an error",
    (err: unknown) => err,
  );
  // No new connection is accepted.
  const refused = await fetch(`${stack.serverUrl}/grpc.health.v1.Health/Check`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  }).then(
    () => "answered",
    () => "refused",
  );
  assert.equal(refused, "refused");

  release();
  await holder;
  const results = await Promise.all(inFlight);
  const failed = results.filter((r) => r instanceof ConnectError);
  assert.deepEqual(
    failed.map((e) => `${(e as ConnectError).code} ${(e as ConnectError).rawMessage}`),
    [],
    "no call in flight failed",
  );
  await draining;
  const numbers = (await stack.database.sql`select number from invoices where tenant_id = ${stack.tenantA.id} order by number`).map((r) =>
    Number(r.number),
  );
  assert.deepEqual(numbers, [1, 2, 3, 4, 5, 6], "all six committed, gapless");
  // The stream ended when the drain began, telling its client to reconnect (to another replica).
  const ended = await streamEnd;
  assert.ok(ended instanceof ConnectError && ended.code === Code.Unavailable, `the watch ${String(ended)}`);
});

it("answers a request sent on a kept-alive connection after the drain began, then closes that connection", async () => {
  const other = await startStack();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const check = () =>
    new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      const req = http.request(
        `${other.serverUrl}/grpc.health.v1.Health/Check`,
        { method: "POST", agent, headers: { "content-type": "application/json" } },
        (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode!, connection: res.headers.connection }));
        },
      );
      req.on("error", reject);
      req.end("{}");
    });
  try {
    assert.deepEqual(await check(), { status: 200, connection: "keep-alive" }); // the agent keeps this connection
    const draining = other.drainServer(10_000);
    // The client does not know yet: it sends on the connection it kept. The request is answered, and the connection closed.
    assert.deepEqual(await check(), { status: 200, connection: "close" });
    await draining;
  } finally {
    agent.destroy();
    await other.close();
  }
});
