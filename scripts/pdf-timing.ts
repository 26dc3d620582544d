// Render time and size of the PDF of the corpus's 100-line invoice (test/support/einvoice-samples.ts):
// warms up, then prints the median of N renders on this thread. To compare with another version of pdf.ts,
// pass its path.   npx tsx scripts/pdf-timing.ts [runs=15] [pdf.ts module=consumer/src/render/pdf.ts]
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { performance } from "node:perf_hooks";
import type { EInvoiceExtras } from "../consumer/src/render/einvoice/index.ts";
import type { Invoice } from "@invoicer/sdk";
import { invoiceSamples } from "../test/support/einvoice-samples.ts";

const sample = invoiceSamples().find((s) => s.name === "hundred-lines-non-latin")!;
const runs = Number(process.argv[2] ?? 15);
const module = pathToFileURL(resolve(process.argv[3] ?? "consumer/src/render/pdf.ts")).href;
const { renderInvoicePdf } = (await import(module)) as {
  renderInvoicePdf: (invoice: Invoice, extras?: EInvoiceExtras) => Promise<Uint8Array>;
};
const render = () => renderInvoicePdf(sample.invoice, sample.extras);
for (let i = 0; i < 3; i++) await render();
const wall: number[] = [];
const cpu: number[] = [];
let size = 0;
for (let i = 0; i < runs; i++) {
  const start = performance.now();
  const startCpu = process.cpuUsage();
  size = (await render()).byteLength;
  const used = process.cpuUsage(startCpu);
  cpu.push((used.user + used.system) / 1000);
  wall.push(performance.now() - start);
}
const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!.toFixed(1);
console.log(
  `${process.argv[3] ?? "pdf.ts"}: 100-line PDF of ${size} bytes, median of ${runs}: ${median(wall)} ms wall, ${median(cpu)} ms CPU`,
);
