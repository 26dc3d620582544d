// CPU per render in the consumer's render pool (worker threads, as in production), for a corpus invoice that
// meets every XML profile (all five formats) or the same invoice without the seller's electronic address (PDF
// and DOCX only). Alternate the two in separate processes and compare medians:
//   npx tsx scripts/render-cpu.ts <all|pdf-docx> [sample=standard-mixed-rates] [renders=40]
import { formatGaps } from "@invoicer/platform/einvoice-profiles";
import { DocumentFormat } from "@invoicer/sdk";
import { createRenderPool } from "../consumer/src/render/pool.ts";
import { invoiceSamples } from "../test/support/einvoice-samples.ts";

const [mode = "all", name = "standard-mixed-rates", count = "40"] = process.argv.slice(2);
const invoice = structuredClone(invoiceSamples().find((s) => s.name === name)!.invoice);
if (mode === "pdf-docx") invoice.seller!.electronicAddress = undefined;
const xml = [DocumentFormat.XRECHNUNG_UBL, DocumentFormat.XRECHNUNG_CII, DocumentFormat.PEPPOL_UBL].filter(
  (f) => formatGaps(invoice, f).length === 0,
);
const pool = createRenderPool({ workers: 1, timeoutMs: 60_000 });
for (let i = 0; i < 5; i++) await pool.render(invoice); // warm up the worker
const renders = Number(count);
const start = process.cpuUsage();
const started = performance.now();
let formats = 0;
for (let i = 0; i < renders; i++) formats = (await pool.render(invoice)).length;
const used = process.cpuUsage(start);
const wallMs = performance.now() - started;
await pool.close();
const cpuMs = (used.user + used.system) / 1000 / renders;
console.log(
  `${mode} ${name}: ${formats} documents (${xml.length} XML), ${cpuMs.toFixed(2)} ms CPU and ${(wallMs / renders).toFixed(2)} ms wall per render (${renders} renders)`,
);
