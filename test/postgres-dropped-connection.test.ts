// postgres.js on a connection whose backend has gone (patches/postgres+3.4.9.patch, porsager/postgres#1208):
// a small statement is buffered for a setImmediate; unpatched, that write ran on the closed (null) socket
// and the TypeError, thrown from a timer, ended the process. Patched, the statement fails with CONNECTION_CLOSED.
import assert from "node:assert/strict";
import { it } from "node:test";
import postgres from "postgres";

it("fails a statement on a connection whose backend was terminated with CONNECTION_CLOSED", async (t) => {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error("TEST_DATABASE_URL is not set: run the tests with `npm test`");
  let closed!: () => void;
  const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
  const sql = postgres(url, { max: 2, onclose: () => closed(), onnotice: () => {} });
  t.after(() => sql.end({ timeout: 1 }));

  // A reserved connection is pinned: the pool cannot swap the dead one for a new one.
  const reserved = await sql.reserve();
  const [backend] = await reserved<{ pid: number }[]>`select pg_backend_pid() as pid`;
  await sql`select pg_terminate_backend(${backend!.pid})`;
  await connectionClosed;

  await assert.rejects(reserved`select 1`, { code: "CONNECTION_CLOSED" });
});
