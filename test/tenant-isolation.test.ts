// One tenant against the others through one gateway (issue 30): answers it never reads, calls it
// never finishes, and more calls than its share; tenant B's ordinary calls must not notice.
import assert from "node:assert/strict";
import { once } from "node:events";
import * as http2 from "node:http2";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "@invoicer/sdk/google/rpc/error_details_pb";
import { ListInvoicesRequestSchema } from "@invoicer/sdk";
import { grpcCall as tenantCall } from "../faults/tenant-attacks.ts";
import { sampleInvoice } from "@invoicer/devstack/samples";
import { startStack, type Stack, type Tenant } from "./support/stack.ts";

const listInvoices = "/invoicer.v1.InvoiceService/ListInvoices";

/** A gRPC call of `tenant`'s over `session`, its request sent whole (`end`) or left open (the fault suite's). */
function grpcCall(session: http2.ClientHttp2Session, tenant: Tenant, path: string, message: Uint8Array, end = true) {
  const call = tenantCall(session, tenant.apiKey, path, message, end);
  call.on("error", () => undefined); // cut calls are the point here
  return call;
}

/** Tenant B's ordinary calls, each over Connect/HTTP/1.1: every one must succeed. */
async function ordinaryCalls(stack: Stack, count: number) {
  const client = stack.client(stack.tenantB);
  for (let i = 0; i < count; i++) await client.listInvoices({ pageSize: 1 }, { timeoutMs: 5_000 });
}

/** `count` invoices of 100 lines of 500 characters for `tenant`: a page of them is megabytes. */
async function largeInvoices(stack: Stack, tenant: Tenant, count: number) {
  const lines = Array.from({ length: 100 }, (_, i) => ({
    description: `${i} ${"x".repeat(495)}`,
    quantity: 1n,
    unitPriceMinor: 100n,
    vatRateBp: 1900,
  }));
  const client = stack.client(tenant);
  for (let i = 0; i < count; i++) await client.createInvoice(sampleInvoice({ lines }));
}

describe("one tenant cannot take the gateway from the others", () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ forwarding: { ...(await defaults()), stalledReaderMs: 60_000, maxOpenCalls: 8 } });
    await largeInvoices(stack, stack.tenantA, 45);
    await stack.client(stack.tenantB).createInvoice(sampleInvoice());
  });
  after(() => stack.close());

  it("serves tenant B while tenant A leaves megabytes of answers unread (case 1)", { timeout: 30_000 }, async () => {
    // Two connections that never open their flow-control window: the answers cannot reach them.
    const attackers = [0, 1].map(() => http2.connect(stack.gatewayUrl, { settings: { initialWindowSize: 0 } }));
    const page = toBinary(ListInvoicesRequestSchema, create(ListInvoicesRequestSchema, { pageSize: 100 }));
    const calls = attackers.flatMap((session) => [0, 1, 2].map(() => grpcCall(session, stack.tenantA, listInvoices, page)));
    // Each answer has begun: the server has its megabytes on the way.
    await Promise.all(calls.map((call) => once(call, "response")));
    await ordinaryCalls(stack, 10);
    for (const session of attackers) session.destroy();
  });

  it("serves tenant B while tenant A leaves its Connect answers over HTTP/1.1 unread", { timeout: 30_000 }, async () => {
    // Connections that never read: each answer of megabytes waits on its own connection to the server.
    const { port } = new URL(stack.gatewayUrl);
    const body = JSON.stringify({ pageSize: 100 });
    const attackers = Array.from({ length: 8 }, () => {
      const socket = connect(Number(port), "127.0.0.1");
      socket.pause();
      socket.write(
        `POST ${listInvoices} HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer ${stack.tenantA.apiKey}\r\n` +
          `content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      );
      return socket;
    });
    await ordinaryCalls(stack, 10);
    for (const socket of attackers) socket.destroy();
  });

  it("refuses tenant A's calls past its share with ResourceExhausted, and serves tenant B (case 2)", { timeout: 30_000 }, async () => {
    // Calls whose request never ends, held open as long as the connection lives.
    const session = http2.connect(stack.gatewayUrl);
    const page = toBinary(ListInvoicesRequestSchema, create(ListInvoicesRequestSchema, { pageSize: 1 }));
    const held = Array.from({ length: 8 }, () => grpcCall(session, stack.tenantA, listInvoices, page, false));
    const refused = grpcCall(session, stack.tenantA, listInvoices, page);
    const [headers] = (await once(refused, "response")) as [http2.IncomingHttpHeaders];
    assert.equal(headers["grpc-status"], String(Code.ResourceExhausted));
    assert.match(String(headers["grpc-message"]), /too many calls in flight for this tenant \(at most 8\)/);
    await ordinaryCalls(stack, 10);
    for (const call of held) call.close();
    session.destroy();
  });
});

describe("one tenant opens its streams at a bounded rate", () => {
  let stack: Stack;
  before(async () => (stack = await startStack({ forwarding: { ...(await defaults()), streamOpensPerSecond: 2, streamOpensBurst: 3 } })));
  after(() => stack.close());

  it("opens tenant A's streams past its burst in turn, refuses those past its queue with when to retry, and opens tenant B's at once", async () => {
    // Hundreds of watches opened at once cost every tenant's calls their tail: a tenant opens its burst (3 here), 3 more wait their turn (2 a second).
    const session = http2.connect(stack.gatewayUrl);
    const started = performance.now();
    const opened = Array.from({ length: 7 }, () =>
      grpcCall(session, stack.tenantA, "/invoicer.v1.InvoiceService/WatchInvoices", new Uint8Array()),
    );
    const answers = opened.map(async (call) => {
      const [headers] = (await once(call, "response")) as [http2.IncomingHttpHeaders];
      return { status: headers["grpc-status"], headers, ms: performance.now() - started };
    });
    const seventh = await answers[6]!;
    assert.equal(seventh.status, String(Code.ResourceExhausted));
    assert.match(
      String(seventh.headers["grpc-message"]),
      /too many streams opened for this tenant \(2 a second, 3 at once, 3 more waiting\)/,
    );
    assert.equal(seventh.headers["retry-after"], "1");
    // Within the half second before a turn frees up:
    const refused = await firstEvent(stack.client(stack.tenantA).watchInvoices({}, { timeoutMs: 5_000 })).catch(ConnectError.from);
    assert.equal((refused as ConnectError).code, Code.ResourceExhausted, "over Connect too");
    assert.equal((refused as ConnectError).findDetails(ErrorInfoSchema)[0]?.reason, "RATE_LIMITED");
    const live = await firstEvent(stack.client(stack.tenantB).watchInvoices({}, { timeoutMs: 5_000 }));
    assert.equal(live.event, undefined, "B's stream is live at once (its first message carries no event)");
    const waited = await Promise.all(answers.slice(0, 6));
    assert.deepEqual(
      waited.map((a) => a.status),
      Array.from({ length: 6 }, () => undefined),
    );
    assert.ok(waited[5]!.ms >= 1_000, `the sixth opened after ${Math.round(waited[5]!.ms)} ms: it waited for its turn (1.5 s)`);
    session.destroy();
  });
});

/** The first message of a stream (WatchInvoices' live marker), the stream then closed. */
async function firstEvent<T>(stream: AsyncIterable<T>): Promise<T> {
  for await (const message of stream) return message;
  throw new Error("the stream ended without a message");
}

describe("one tenant's reads come from a budget of its own on each server", () => {
  const perSecond = 1_000;
  const burst = 3_000;
  let stack: Stack;
  before(async () => {
    stack = await startStack({}, undefined, { readLines: { perSecond, burst } });
    await largeInvoices(stack, stack.tenantA, 20);
  });
  after(() => stack.close());

  it(
    "refuses tenant A's calls with ResourceExhausted once its pages spent its lines, and serves tenant B",
    { timeout: 30_000 },
    async () => {
      const client = stack.client(stack.tenantA, "connect-binary");
      const started = performance.now();
      let servedLines = 0;
      let refused: ConnectError | undefined;
      for (let i = 0; i < 20 && !refused; i++) {
        try {
          const page = await client.listInvoices({ pageSize: 100 });
          servedLines += page.invoices.reduce((sum, invoice) => sum + invoice.lines.length, 0);
        } catch (err) {
          refused = ConnectError.from(err);
        }
      }
      assert.equal(refused?.code, Code.ResourceExhausted, `A's pages were all served (${servedLines} lines)`);
      assert.equal(refused.findDetails(ErrorInfoSchema)[0]?.reason, "READ_BUDGET_EXHAUSTED");
      // What the budget allows: its burst, its rate meanwhile, and the one page that took it below zero.
      const allowed = burst + (perSecond * (performance.now() - started)) / 1000;
      assert.ok(servedLines <= allowed + 1_000, `${servedLines} lines served, ${Math.round(allowed)} allowed`);
      await ordinaryCalls(stack, 10);
    },
  );
});

describe("every forwarded call has a deadline", () => {
  let stack: Stack;
  before(async () => (stack = await startStack({ forwarding: { ...(await defaults()), maxCallMs: 300 } })));
  after(() => stack.close());

  it(
    "ends a call whose request never finishes at the gateway's cap, though the caller set none (case 2)",
    { timeout: 10_000 },
    async () => {
      const session = http2.connect(stack.gatewayUrl);
      const page = toBinary(ListInvoicesRequestSchema, create(ListInvoicesRequestSchema, { pageSize: 1 }));
      const call = grpcCall(session, stack.tenantA, listInvoices, page, false);
      const status = await new Promise<string>((done) => {
        call.on("response", (h: http2.IncomingHttpHeaders) => h["grpc-status"] && done(String(h["grpc-status"])));
        call.on("trailers", (t: http2.IncomingHttpHeaders) => done(String(t["grpc-status"])));
      });
      assert.equal(status, String(Code.DeadlineExceeded));
      session.destroy();
    },
  );

  it("caps a caller's longer deadline: a Connect call asking for an hour ends with DeadlineExceeded", { timeout: 10_000 }, async () => {
    const slowUpload = fetch(`${stack.gatewayUrl}${listInvoices}`, {
      method: "POST",
      headers: { "content-type": "application/json", "connect-timeout-ms": "3600000", authorization: `Bearer ${stack.tenantA.apiKey}` },
      body: new ReadableStream({ start: (c) => c.enqueue(new TextEncoder().encode("{")) }), // never closes
      duplex: "half",
    } as RequestInit);
    const answer = (await (await slowUpload).json()) as { code: string };
    assert.equal(answer.code, "deadline_exceeded");
  });
});

describe("REST calls are bounded per tenant as forwarded RPCs are", () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ forwarding: { ...(await defaults()), maxWaitingBytes: 200_000 } });
    const lines = Array.from({ length: 100 }, (_, i) => ({
      description: `${i} ${"x".repeat(495)}`,
      quantity: 1n,
      unitPriceMinor: 100n,
      vatRateBp: 1900,
    }));
    const client = stack.client(stack.tenantA);
    for (let i = 0; i < 5; i++) await client.createInvoice(sampleInvoice({ lines }));
  });
  after(() => stack.close());

  const list = (tenant: Tenant, pageSize: number) =>
    fetch(`${stack.gatewayUrl}/v1/invoices?page_size=${pageSize}`, { headers: { authorization: `Bearer ${tenant.apiKey}` } });

  it("refuses an answer past the tenant's waiting bytes (ResourceExhausted), and gives the bytes back once an answer is taken", async () => {
    const refused = await list(stack.tenantA, 5);
    assert.equal(refused.status, 429);
    const body = (await refused.json()) as { code: string; details: { type: string; debug?: { reason?: string } }[] };
    assert.equal(body.code, "resource_exhausted");
    assert.match(JSON.stringify(body.details), /TOO_MANY_ANSWERS_UNREAD/);
    for (let i = 0; i < 5; i++) assert.equal((await list(stack.tenantA, 1)).status, 200, "one invoice's answer fits, again and again");
    assert.equal((await list(stack.tenantB, 5)).status, 200);
  });
});

async function defaults() {
  const { loadGatewayConfig } = await import("../gateway/src/config.ts");
  return loadGatewayConfig({ INTERNAL_TOKEN: "x".repeat(24) }).forwarding;
}
