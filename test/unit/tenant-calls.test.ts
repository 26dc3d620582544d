// How the server takes turns among one tenant's calls (server/src/rpc/tenant-calls.ts): a tenant's
// ListInvoices pages, each up to 1,000 lines and ten times the work of any other call, run one after
// another, beside its other calls and other tenants' pages.
import assert from "node:assert/strict";
import { it } from "node:test";
import { setImmediate as turnOfTheLoop } from "node:timers/promises";
import { createContextValues, type Interceptor, type UnaryRequest, type UnaryResponse } from "@connectrpc/connect";
import { InvoiceService } from "@invoicer/sdk";
import { tenantKey } from "../../server/src/rpc/callers.ts";
import { callsPerTenant } from "../../server/src/rpc/tenant-calls.ts";

type Method = (typeof InvoiceService.methods)[number];

/** A unary call of `tenant`'s to `method`, named `label`, that can be given up. */
function call(label: string, tenant: string, method: Method) {
  const contextValues = createContextValues().set(tenantKey, tenant);
  const gone = new AbortController();
  const req = { label, method, service: InvoiceService, contextValues, signal: gone.signal } as unknown as UnaryRequest & { label: string };
  return { req, giveUp: () => gone.abort(new Error(`${label}'s caller left`)) };
}

/** Handlers that run until the test ends them, in the order they began. */
function heldHandlers() {
  const began: string[] = [];
  const ends = new Map<string, () => void>();
  const next: Parameters<Interceptor>[0] = (req) => {
    const { label } = req as UnaryRequest & { label: string };
    began.push(label);
    return new Promise<UnaryResponse>((done) => ends.set(label, () => done({} as UnaryResponse)));
  };
  return { began, next, end: (label: string) => ends.get(label)!() };
}

const { listInvoices, getInvoice, createInvoice } = InvoiceService.method;
/** The calls that began, in whichever order: calls admitted together begin in the same turn of the loop. */
const sameCalls = (began: string[], expected: string[]) => assert.deepEqual([...began].sort(), [...expected].sort());

it("runs one of a tenant's ListInvoices at a time, its other calls and another tenant's pages beside it", { timeout: 10_000 }, async () => {
  const handlers = heldHandlers();
  const served = callsPerTenant({ maxCalls: 10, maxRunning: 2, maxRunningPages: 1 })(handlers.next);
  const calls = [
    call("a page 1", "a", listInvoices),
    call("a page 2", "a", listInvoices),
    call("a create", "a", createInvoice),
    call("b page", "b", listInvoices),
  ].map(({ req }) => served(req));
  await turnOfTheLoop();
  // A's second page waits for its first and holds none of A's two turns meanwhile: A's create runs.
  sameCalls(handlers.began, ["a page 1", "a create", "b page"]);
  handlers.end("a page 1");
  await calls[0];
  await turnOfTheLoop();
  sameCalls(handlers.began, ["a page 1", "a create", "b page", "a page 2"]);
  for (const label of ["a page 2", "a create", "b page"]) handlers.end(label);
  await Promise.all(calls);
});

it("lets a waiting page whose caller left go, and hands the turn to the page after it", { timeout: 10_000 }, async () => {
  const handlers = heldHandlers();
  const served = callsPerTenant({ maxCalls: 10, maxRunning: 5, maxRunningPages: 1 })(handlers.next);
  const [first, left, third] = ["a page 1", "a page 2", "a page 3"].map((label) => call(label, "a", listInvoices));
  const calls = [first!, left!, third!].map(({ req }) => served(req));
  await turnOfTheLoop();
  left!.giveUp();
  await assert.rejects(calls[1]!, /a page 2's caller left/);
  handlers.end("a page 1");
  await turnOfTheLoop();
  sameCalls(handlers.began, ["a page 1", "a page 3"]);
  handlers.end("a page 3");
  await Promise.all([calls[0], calls[2]]);
  // Nothing of A's is left running: a page and a get run at once again.
  const again = [call("a page 4", "a", listInvoices), call("a get", "a", getInvoice)].map(({ req }) => served(req));
  await turnOfTheLoop();
  sameCalls(handlers.began.slice(2), ["a page 4", "a get"]);
  for (const label of ["a page 4", "a get"]) handlers.end(label);
  await Promise.all(again);
});
