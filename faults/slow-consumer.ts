// The real consumer process with one injected fault: invoices for "Slow Ltd" render slower than
// the group's session timeout, to show heartbeats keep the member (and its partitions) in place.
import type { Invoice } from "@invoicer/sdk";
import { runMain } from "@invoicer/platform/config";
import { renderInvoiceDocuments } from "../consumer/src/render/index.ts";
import { serveConsumer } from "../consumer/src/serve.ts";

const delayMs = Number(process.env.FAULT_SLOW_RENDER_MS ?? 5_000);

async function slowRender(invoice: Invoice) {
  if (invoice.buyer?.name === "Slow Ltd") await new Promise((r) => setTimeout(r, delayMs));
  return renderInvoiceDocuments(invoice);
}

await runMain(() => serveConsumer(process.env, slowRender));
