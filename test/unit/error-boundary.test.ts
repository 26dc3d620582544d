// Fast tests of the server's error boundary on an in-memory transport: what a caller is told about
// a failure it did not cause, and that no internal detail goes with it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { Health } from "@invoicer/sdk/grpc/health/v1/health_pb";
import { createLogger } from "@invoicer/platform/logger";
import { errorBoundary } from "../../server/src/rpc/errors.ts";

/** A Health service whose Check fails with `error`, behind the boundary. */
function failingWith(error: unknown) {
  const transport = createRouterTransport(
    (router) =>
      router.service(Health, {
        check: () => Promise.reject(error),
        watch: async function* () {
          yield* [];
          throw error;
        },
      }),
    { router: { interceptors: [errorBoundary(createLogger("unit", "silent"))] } },
  );
  return createClient(Health, transport);
}

const outcome = async (error: unknown) => {
  const err = await failingWith(error)
    .check({})
    .then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
  return { code: err?.code, message: err?.rawMessage };
};

describe("the error boundary", () => {
  it("passes errors meant for the caller through", async () => {
    assert.deepEqual(await outcome(new ConnectError("invoice x not found", Code.NotFound)), {
      code: Code.NotFound,
      message: "invoice x not found",
    });
  });

  it("turns a database that is down, restarting or full into Unavailable, and a lost race into Aborted", async () => {
    const postgres = (code: string) => Object.assign(new Error(`postgres said ${code}`), { name: "PostgresError", code });
    for (const error of [
      Object.assign(new Error("write CONNECTION_CLOSED"), { code: "CONNECTION_CLOSED" }),
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }),
      postgres("57P01"), // admin shutdown
      postgres("57P03"), // cannot connect now (starting up)
      postgres("53300"), // too many connections
      postgres("08006"), // connection failure
      // drizzle wraps the driver's error, with the statement and its parameters in the message
      Object.assign(new Error("Failed query: select 1\nparams: Globex"), { cause: postgres("57P01") }),
    ]) {
      assert.deepEqual(
        await outcome(error),
        { code: Code.Unavailable, message: "the database is unavailable; retry later" },
        String(error),
      );
    }
    assert.equal((await outcome(postgres("40001"))).code, Code.Aborted);
    assert.equal((await outcome(postgres("40P01"))).code, Code.Aborted);
    assert.equal((await outcome(postgres("57014"))).code, Code.DeadlineExceeded);
  });

  it("turns anything else into a bare Internal, in unary calls and streams alike", async () => {
    const bug = Object.assign(new Error('relation "invoices" does not exist'), { name: "PostgresError", code: "42P01" });
    assert.deepEqual(await outcome(bug), { code: Code.Internal, message: "internal error" });
    assert.deepEqual(await outcome(new TypeError("Cannot read properties of undefined")), {
      code: Code.Internal,
      message: "internal error",
    });
    const streamed = await (async () => {
      for await (const _ of failingWith(bug).watch({})) void _;
    })().then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    assert.equal(streamed?.code, Code.Internal);
    assert.equal(streamed?.rawMessage, "internal error");
  });
});

describe("the error boundary, when the caller has gone", () => {
  it("logs what a call's own deadline cut short at debug, not as an unexpected error, and answers the deadline", async () => {
    const lines: { level: number; msg: string }[] = [];
    const log = createLogger("unit", "debug", {
      write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }),
    });
    const transport = createRouterTransport(
      (router) =>
        router.service(Health, {
          // A query cut by the call's signal fails with the driver's own error, not a ConnectError.
          check: (_req, ctx) =>
            new Promise((_resolve, reject) => ctx.signal.addEventListener("abort", () => reject(new Error("query aborted")))),
          watch: async function* () {},
        }),
      { router: { interceptors: [errorBoundary(log)] } },
    );
    const err = await createClient(Health, transport)
      .check({}, { timeoutMs: 20 })
      .then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
    assert.equal(err?.code, Code.DeadlineExceeded);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      lines.filter((l) => l.level >= 50),
      [],
      "nothing at error level",
    );
    assert.ok(
      lines.some((l) => l.level === 20 && l.msg === "call ended by its caller"),
      JSON.stringify(lines),
    );
  });
});
