// Writes every e-invoice format of the test corpus (test/support/einvoice-samples.ts) to a folder, one file
// per sample and format, named <sample>.<format>.xml, for the validators:
//   npx tsx scripts/einvoice-corpus.ts [folder=.data/einvoice-corpus]
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { eInvoiceOf, eInvoiceWriters, type EInvoiceFormat } from "../consumer/src/render/einvoice/index.ts";
import { allSamples } from "../test/support/einvoice-samples.ts";

const folder = process.argv[2] ?? ".data/einvoice-corpus";
mkdirSync(folder, { recursive: true });
let written = 0;
for (const sample of allSamples()) {
  const model = eInvoiceOf(sample.invoice, sample.extras);
  for (const [format, write] of Object.entries(eInvoiceWriters) as Array<[EInvoiceFormat, (typeof eInvoiceWriters)[EInvoiceFormat]]>) {
    writeFileSync(join(folder, `${sample.name}.${format}.xml`), write(model));
    written++;
  }
}
console.log(`wrote ${written} documents to ${folder}`);
