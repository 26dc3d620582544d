// Writes every e-invoice format of the test corpus (test/support/einvoice-samples.ts) to a folder, one file
// per sample and format (<sample>.<format>.xml), and checks.tsv: one "validator kind<TAB>absolute path" line
// per check a file must pass (scripts/einvoice-validate.sh runs them):
//   npx tsx scripts/einvoice-corpus.ts [folder=.data/einvoice-corpus]
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { eInvoiceOf, eInvoiceWriters, type EInvoiceFormat } from "../consumer/src/render/einvoice/index.ts";
import { allSamples } from "../test/support/einvoice-samples.ts";

/** The validator kinds (einvoice/validate-cli.ts of the validators) each format must pass, for an invoice and a credit note. */
const checks: Record<EInvoiceFormat, { invoice: string[]; creditNote: string[] }> = {
  xrechnungUbl: {
    invoice: ["xrechnung-ubl-invoice", "en16931-ubl-invoice"],
    creditNote: ["xrechnung-ubl-creditnote", "en16931-ubl-creditnote"],
  },
  xrechnungCii: { invoice: ["xrechnung-cii"], creditNote: ["xrechnung-cii"] },
  peppolUbl: { invoice: ["peppol-ubl-invoice"], creditNote: ["peppol-ubl-creditnote"] },
  facturXCii: { invoice: ["en16931-cii"], creditNote: ["en16931-cii"] },
};

const folder = resolve(process.argv[2] ?? ".data/einvoice-corpus");
rmSync(folder, { recursive: true, force: true });
mkdirSync(folder, { recursive: true });
const lines: string[] = [];
for (const sample of allSamples()) {
  const model = eInvoiceOf(sample.invoice, sample.extras);
  for (const format of Object.keys(eInvoiceWriters) as EInvoiceFormat[]) {
    const file = join(folder, `${sample.name}.${format}.xml`);
    writeFileSync(file, eInvoiceWriters[format](model));
    const kinds = checks[format][model.typeCode === "381" ? "creditNote" : "invoice"];
    lines.push(...kinds.map((kind) => `${kind}\t${file}`));
  }
}
writeFileSync(join(folder, "checks.tsv"), lines.join("\n") + "\n");
console.log(`wrote ${allSamples().length * Object.keys(eInvoiceWriters).length} documents and ${lines.length} checks to ${folder}`);
