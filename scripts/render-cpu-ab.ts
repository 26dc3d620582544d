// CPU per render of all of an invoice's documents by two checkouts' renderers, alternating in one process
// on this thread, so that a machine shared with other jobs slows both alike (render-cpu.ts runs one
// checkout's pool per process). The other checkout needs its own node_modules (npm ci there). With `distinct`,
// each render's invoice has a buyer name of its own (letters in a random order), so that its glyphs come in an
// order of their own, as distinct invoices' do, and no font file kept from an earlier render fits:
//   npx tsx scripts/render-cpu-ab.ts <other checkout> [sample=standard-mixed-rates] [renders=300] [same|distinct]
import { resolve } from "node:path";
import type { Invoice } from "@invoicer/sdk";
import { renderInvoiceDocuments } from "../consumer/src/render/index.ts";
import { invoiceSamples } from "../test/support/einvoice-samples.ts";

type Render = typeof renderInvoiceDocuments;

const [other, name = "standard-mixed-rates", count = "300", mode = "same"] = process.argv.slice(2);
if (!other) throw new Error("usage: render-cpu-ab.ts <other checkout> [sample] [renders]");
const theirs = ((await import(resolve(other, "consumer/src/render/index.ts"))) as { renderInvoiceDocuments: Render })
  .renderInvoiceDocuments;
const sample = invoiceSamples().find((s) => s.name === name)!.invoice;
const letters = [..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZäöüßéèàç"];

/** The sample, or in `distinct` mode a copy with a buyer name of its own. */
function nextInvoice(): Invoice {
  if (mode !== "distinct") return sample;
  const invoice = structuredClone(sample);
  const shuffled = letters.map((l) => [Math.random(), l] as const).sort(([a], [b]) => a - b);
  const buyerName = shuffled.map(([, l]) => l).join("");
  invoice.buyer!.name = `${buyerName.slice(0, 20)} ${buyerName.slice(20, 40)} GmbH`;
  return invoice;
}

async function cpuMs(render: Render, inv: Invoice): Promise<number> {
  const start = process.cpuUsage();
  await render(inv);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

for (let i = 0; i < 30; i++) await Promise.all([theirs(nextInvoice()), renderInvoiceDocuments(nextInvoice())]); // warm both up
const renders = Number(count);
let [thisMs, otherMs] = [0, 0];
for (let i = 0; i < renders; i++) {
  // Each goes first in every other pair: neither always renders right after the other's garbage.
  const invoice = nextInvoice(); // the same for both
  if (i % 2 === 0) otherMs += await cpuMs(theirs, invoice);
  thisMs += await cpuMs(renderInvoiceDocuments, invoice);
  if (i % 2 === 1) otherMs += await cpuMs(theirs, invoice);
}
console.log(
  `${name} (${mode}): ${(otherMs / renders).toFixed(2)} ms CPU per render in ${other}, ${(thisMs / renders).toFixed(2)} ms in this checkout (${renders} each, alternating)`,
);
