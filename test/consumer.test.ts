import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { DocumentStatus, type Invoice } from "@invoicer/sdk";
import { renderInvoiceDocuments } from "../consumer/src/render/index.ts";
import { watchInvoices } from "./support/events.ts";
import { sampleInvoice, startStack, type Stack } from "./support/stack.ts";

const sessionTimeoutMs = 2_000;
const renders = new Map<string, number>();
let gate: { started: () => void; release: Promise<void> } | undefined;

// A render that is slower than the session timeout for one buyer, and held at a gate for another.
async function render(invoice: Invoice) {
  const buyer = invoice.buyer?.name ?? "";
  renders.set(invoice.id, (renders.get(invoice.id) ?? 0) + 1);
  if (buyer === "Slow Ltd") await new Promise((r) => setTimeout(r, sessionTimeoutMs * 2.5));
  if (buyer === "Gated Ltd" && gate) {
    gate.started();
    await gate.release;
  }
  return renderInvoiceDocuments(invoice);
}

let stack: Stack;
before(async () => {
  stack = await startStack({}, { render, sessionTimeoutMs });
});
after(() => stack.close());

const buyer = (name: string) => ({ ...sampleInvoice().buyer!, name });

it("keeps its group membership through a render slower than the session timeout", async () => {
  const client = stack.client(stack.tenantA);
  const watch = await watchInvoices(client);
  const { invoice } = await client.createInvoice(sampleInvoice({ buyer: buyer("Slow Ltd") }));
  await watch.until((es) => es.some((e) => e.kind.case === "documentReady" && e.invoiceId === invoice!.id), 30_000);
  watch.close();
  assert.equal(stack.events!.consumer!.subscription.joins(), 1, "no rebalance took the partition away");
  assert.equal(renders.get(invoice!.id), 1, "rendered once, not again by a new owner of the partition");
});

it("finishes the message in hand when stopped, so no work is lost", async () => {
  const client = stack.client(stack.tenantA);
  let started!: () => void;
  let release!: () => void;
  const renderStarted = new Promise<void>((r) => (started = r));
  gate = { started, release: new Promise<void>((r) => (release = r)) };
  const { invoice } = await client.createInvoice(sampleInvoice({ buyer: buyer("Gated Ltd") }));
  await renderStarted;
  const stopping = stack.events!.consumer!.stop(); // what SIGTERM does in consumer/src/main.ts
  release();
  await stopping;
  const { invoice: done } = await client.getInvoice({ id: invoice!.id });
  assert.equal(done!.documentStatus, DocumentStatus.READY);
});
