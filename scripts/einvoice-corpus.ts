// Writes every e-invoice format of the test corpus (test/support/einvoice-samples.ts) to a folder, one file
// per sample and format (<sample>.<format>.xml), and rules.tsv: one "rule set<TAB>absolute path" line per
// check each file must pass, as the phive validator reads them on stdin:
//   npx tsx scripts/einvoice-corpus.ts [folder=.data/einvoice-corpus]
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { eInvoiceOf, eInvoiceWriters, type EInvoiceFormat } from "../consumer/src/render/einvoice/index.ts";
import { allSamples } from "../test/support/einvoice-samples.ts";

/** The phive rule sets (VESIDs) of each format, for an invoice and for a credit note. */
const ruleSets: Record<EInvoiceFormat, { invoice: string[]; creditNote: string[] }> = {
  xrechnungUbl: {
    invoice: ["de.xrechnung:ubl-invoice:3.0.2", "eu.cen.en16931:ubl:1.3.16"],
    creditNote: ["de.xrechnung:ubl-creditnote:3.0.2", "eu.cen.en16931:ubl-creditnote:1.3.16"],
  },
  xrechnungCii: { invoice: ["de.xrechnung:cii:3.0.2"], creditNote: ["de.xrechnung:cii:3.0.2"] },
  peppolUbl: { invoice: ["eu.peppol.bis3:invoice:2026.5"], creditNote: ["eu.peppol.bis3:creditnote:2026.5"] },
  facturXCii: { invoice: ["eu.cen.en16931:cii:1.3.16"], creditNote: ["eu.cen.en16931:cii:1.3.16"] },
};

const folder = resolve(process.argv[2] ?? ".data/einvoice-corpus");
rmSync(folder, { recursive: true, force: true });
mkdirSync(folder, { recursive: true });
const rules: string[] = [];
for (const sample of allSamples()) {
  const model = eInvoiceOf(sample.invoice, sample.extras);
  for (const format of Object.keys(eInvoiceWriters) as EInvoiceFormat[]) {
    const file = join(folder, `${sample.name}.${format}.xml`);
    writeFileSync(file, eInvoiceWriters[format](model));
    const sets = ruleSets[format][model.typeCode === "381" ? "creditNote" : "invoice"];
    rules.push(...sets.map((set) => `${set}\t${file}`));
  }
}
writeFileSync(join(folder, "rules.tsv"), rules.join("\n") + "\n");
console.log(`wrote ${allSamples().length * Object.keys(eInvoiceWriters).length} documents and ${rules.length} checks to ${folder}`);
