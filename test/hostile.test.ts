// Hostile input: a corpus of malformed, oversized, forged and cross-tenant requests over Connect
// JSON, Connect binary, gRPC-web, gRPC (HTTP/2) and REST (test/support/hostile-corpus.ts). Each
// gets exactly its declared code; none gets Internal, Unknown or a 5xx; no answer carries SQL, a
// stack or a file path; afterwards nothing was stored and both services still answer.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { codeFromString, codeToHttpStatus, codeToString } from "@connectrpc/connect/protocol-connect";
import { InvoiceStatus } from "@invoicer/sdk";
import { createApiKey, revokeApiKey } from "../server/src/api-key-admin.ts";
import { hostileCorpus, sqlLookingInvoice, type CorpusContext, type Expected, type HostileCase } from "./support/hostile-corpus.ts";
import { send, type HostileRequest, type Outcome } from "./support/hostile-wire.ts";
import { sampleInvoice } from "@invoicer/devstack/samples";
import { startStack, type Stack } from "./support/stack.ts";

const tables = ["invoices", "invoice_lines", "outbox", "idempotency_keys", "invoice_documents"] as const;
type Counts = Record<(typeof tables)[number], number>;

/** What no answer may contain: SQL or database words, stack frames, file paths, JavaScript error text. */
const leaks: [string, RegExp][] = [
  ["SQL", /\bselect |\binsert |\bupdate |\brelation |syntax error|postgres/i],
  ["a stack trace", /\n\s+at \S|\bat (?:async )?\S+ \(.*:\d+:\d+\)|\.[cm]?[jt]s:\d+/],
  ["a file path", /\/work\/|node_modules|file:\/\//],
  ["a JavaScript error", /TypeError|ReferenceError|RangeError|is not a function|Cannot read propert/],
];

let stack: Stack;
let ctx: CorpusContext;
let countsBefore: Counts;
const corpus = hostileCorpus();
const answers: { c: HostileCase; request: HostileRequest; outcome: Outcome }[] = [];

before(async () => {
  stack = await startStack({ apiKeyCacheMs: 0 });
  const { invoice } = await stack.client(stack.tenantB).createInvoice(sampleInvoice());
  const revoked = await createApiKey(stack.database.db, "tenant-revoked");
  assert.equal(await revokeApiKey(stack.database.db, revoked.apiKey), true);
  ctx = {
    keyA: stack.tenantA.apiKey,
    tenantBId: stack.tenantB.id,
    revokedKey: revoked.apiKey,
    internalToken: stack.internalToken,
    invoiceOfB: invoice!.id,
    maxBodyBytes: 1024 * 1024,
  };
  countsBefore = await counts();
});
after(() => stack.close());

async function counts(): Promise<Counts> {
  const out = {} as Counts;
  for (const table of tables) {
    const [row] = await stack.database.sql.unsafe(`select count(*)::int as n from ${table}`);
    out[table] = row!.n as number;
  }
  return out;
}

/** True when `bytes` hold `key` not followed by another digit ("hostile-1" is not in "hostile-12"). */
function holdsKey(bytes: Buffer, key: string): boolean {
  for (let at = bytes.indexOf(key); at >= 0; at = bytes.indexOf(key, at + 1)) {
    const next = bytes[at + key.length];
    if (next === undefined || next < 0x30 || next > 0x39) return true;
  }
  return false;
}

const describeExpected = (e: Expected) => (typeof e === "number" ? codeToString(e) : `HTTP ${e.http}`);

/** Everything wrong with one answer, as lines of a failure message. */
function problems(c: HostileCase, outcome: Outcome): string[] {
  const found: string[] = [];
  const got = `${outcome.code} (HTTP ${outcome.status}${outcome.message ? `, ${JSON.stringify(outcome.message.slice(0, 300))}` : ""})`;
  if (typeof c.expect === "number") {
    if (outcome.code !== codeToString(c.expect)) found.push(`expected ${codeToString(c.expect)}, got ${got}`);
  } else if (outcome.status !== c.expect.http) {
    found.push(`expected HTTP ${c.expect.http}, got ${got}`);
  }
  // (A request in no RPC protocol is judged by its HTTP status alone: it has no code.)
  if (typeof c.expect === "number" && /^(internal|unknown)/.test(outcome.code))
    found.push(`answered ${outcome.code}: the server's fault, not the caller's`);
  // Connect maps unimplemented to 501; every other 5xx is the server's fault.
  if (outcome.status >= 500 && !(outcome.status === 501 && outcome.code === "unimplemented")) found.push(`answered HTTP ${outcome.status}`);
  // A Connect unary error carries its code twice: in the body and as the HTTP status the protocol assigns it.
  const code = codeFromString(outcome.code);
  if (outcome.connectErrorBody && code !== undefined && outcome.status !== codeToHttpStatus(code)) {
    found.push(`answered ${outcome.code} with HTTP ${outcome.status}; the Connect protocol says HTTP ${codeToHttpStatus(code)}`);
  }
  for (const [what, pattern] of leaks) {
    const match = pattern.exec(outcome.text);
    if (match)
      found.push(`the answer contains ${what}: ${JSON.stringify(outcome.text.slice(Math.max(0, match.index - 60), match.index + 80))}`);
  }
  return found;
}

for (const category of [...new Set(corpus.map((c) => c.category))]) {
  describe(`hostile: ${category}`, () => {
    for (const c of corpus.filter((k) => k.category === category)) {
      // The timeout only turns a hung exchange into a failure; nothing is timed.
      it(`${c.name} -> ${describeExpected(c.expect)}`, { timeout: 30_000 }, async () => {
        const request = c.build(ctx);
        const outcome = await send(stack.gatewayUrl, c.transport, request);
        answers.push({ c, request, outcome });
        const found = problems(c, outcome);
        assert.ok(found.length === 0, `${c.name} [${c.transport}]:\n  ${found.join("\n  ")}`);
      });
    }
  });
}

describe("after the hostile corpus", () => {
  it("stored nothing and left tenant B's invoice as it was", async () => {
    const stored = await stack.database.sql`
      select i.id, k.key, i.seller->>'name' as seller from invoices i
      join idempotency_keys k on k.invoice_id = i.id where i.id <> ${ctx.invoiceOfB}`;
    // Name the case each stored invoice came from: its idempotency key is in the request that made it.
    const madeBy = (key: string) =>
      answers
        .filter(({ request }) => {
          const body = request.kind === "wire" ? request.body : undefined;
          return [body].flat().some((chunk) => chunk !== undefined && holdsKey(Buffer.from(chunk), key));
        })
        .map(({ c }) => c.name);
    const rows = stored.map((r) => `${r.key} (seller ${JSON.stringify(r.seller)}) from: ${madeBy(r.key as string).join("; ") || "?"}`);
    assert.deepEqual(await counts(), countsBefore, `rows were stored:\n  ${rows.join("\n  ")}`);
    const [b] = await stack.database.sql`select status, void_reason from invoices where id = ${ctx.invoiceOfB}`;
    assert.deepEqual({ ...b }, { status: "ISSUED", void_reason: "" });
  });

  it("leaves the gateway and the server answering", async () => {
    assert.equal((await fetch(`${stack.gatewayUrl}/healthz`)).status, 200);
    assert.equal((await fetch(`${stack.gatewayUrl}/readyz`)).status, 200, "the gateway no longer reaches a serving server");
    const { invoice } = await stack.client(stack.tenantB, "grpc-web").getInvoice({ id: ctx.invoiceOfB });
    assert.equal(invoice!.status, InvoiceStatus.ISSUED);
    const grpc = await send(stack.gatewayUrl, "grpc", {
      kind: "grpc-js",
      method: "GetInvoice",
      request: { id: ctx.invoiceOfB },
      metadata: { authorization: `Bearer ${stack.tenantB.apiKey}` },
    });
    assert.equal(grpc.code, "ok", `gRPC through the gateway: ${grpc.code} ${grpc.message}`);
    await stack.client(stack.tenantA, "connect-json").listInvoices({ pageSize: 1 });
  });

  it("stores a valid invoice whose texts look like SQL verbatim, once", async () => {
    const countsBeforeValid = await counts();
    const request = sqlLookingInvoice();
    const { invoice: created } = await stack.client(stack.tenantA, "connect-json").createInvoice(request);
    const { invoice: again } = await stack.client(stack.tenantA, "grpc-web").createInvoice(request);
    assert.equal(again!.id, created!.id, "the same idempotency key and body return the same invoice");
    const { invoice: read } = await stack.client(stack.tenantA, "connect-binary").getInvoice({ id: created!.id });
    for (const inv of [created!, read!]) {
      assert.deepEqual(
        [inv.seller!.name, inv.seller!.address, inv.buyer!.name, inv.buyer!.address, inv.note, inv.lines.map((l) => l.description)].map(
          (v) => JSON.stringify(v),
        ),
        [
          request.seller!.name,
          request.seller!.address,
          request.buyer!.name,
          request.buyer!.address,
          request.note,
          request.lines.map((l) => l.description),
        ].map((v) => JSON.stringify(v)),
      );
    }
    const rest = (await (
      await fetch(`${stack.gatewayUrl}/v1/invoices/${created!.id}`, { headers: { authorization: `Bearer ${stack.tenantA.apiKey}` } })
    ).json()) as { seller: { name: string }; note: string; lines: { description: string }[] };
    assert.equal(rest.seller.name, request.seller!.name);
    assert.equal(rest.note, request.note);
    assert.deepEqual(
      rest.lines.map((l) => l.description),
      request.lines.map((l) => l.description),
    );
    const [row] = await stack.database.sql`select seller->>'name' as seller, note from invoices where id = ${created!.id}`;
    assert.deepEqual({ ...row }, { seller: request.seller!.name, note: request.note });
    const [key] = await stack.database.sql`select key from idempotency_keys where invoice_id = ${created!.id}`;
    assert.equal(key!.key, request.idempotencyKey);
    const expected = { ...countsBeforeValid };
    expected.invoices += 1;
    expected.invoice_lines += request.lines.length;
    expected.outbox += 1;
    expected.idempotency_keys += 1;
    assert.deepEqual(await counts(), expected);
  });

  it("prints a summary", () => {
    const tally = (key: (a: (typeof answers)[number]) => string) => {
      const counted = new Map<string, number>();
      for (const a of answers) counted.set(key(a), (counted.get(key(a)) ?? 0) + 1);
      return [...counted]
        .sort(([, x], [, y]) => y - x)
        .map(([k, n]) => `${k} ${n}`)
        .join(", ");
    };
    process.stdout.write(
      `# hostile corpus: ${answers.length} of ${corpus.length} requests sent ` +
        `(${tally((a) => a.c.transport)}); answers: ${tally((a) => (a.c.transport === "rest" || typeof a.c.expect !== "number" ? `HTTP ${a.outcome.status}` : a.outcome.code))}\n`,
    );
    assert.equal(answers.length, corpus.length);
    assert.ok(corpus.length >= 200);
  });
});
