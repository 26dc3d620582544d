// Writes the e-invoice corpus of test/support/einvoice-samples.ts to a folder for the validators:
//   - <sample>.<format>.xml for every valid sample and format, and checks.tsv: one "validator kind<TAB>path"
//     line per check a file must pass;
//   - rejected/<sample>.<format>.xml for every sample a format must refuse, and rejected.tsv:
//     "kind<TAB>path<TAB>rule id" lines, the rule the validator must name.
// scripts/einvoice-validate.sh runs both.   npx tsx scripts/einvoice-corpus.ts [folder=.data/einvoice-corpus]
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { DocumentType } from "@invoicer/sdk";
import { eInvoiceOf, eInvoiceWriters, type EInvoiceFormat } from "../consumer/src/render/einvoice/index.ts";
import { allSamples, rejectedSamples, type Sample } from "../test/support/einvoice-samples.ts";

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
const formats = Object.keys(eInvoiceWriters) as EInvoiceFormat[];

function write(folder: string, sample: Sample, format: EInvoiceFormat): string {
  const file = join(folder, `${sample.name}.${format}.xml`);
  writeFileSync(file, eInvoiceWriters[format](eInvoiceOf(sample.invoice, sample.extras)));
  return file;
}

const folder = resolve(process.argv[2] ?? ".data/einvoice-corpus");
rmSync(folder, { recursive: true, force: true });
mkdirSync(join(folder, "rejected"), { recursive: true });
const valid = allSamples().flatMap((sample) =>
  formats.flatMap((format) => {
    const file = write(folder, sample, format);
    const kinds = checks[format][sample.invoice.documentType === DocumentType.CREDIT_NOTE ? "creditNote" : "invoice"];
    return kinds.map((kind) => `${kind}\t${file}`);
  }),
);
const rejected = rejectedSamples().flatMap((sample) =>
  Object.entries(sample.rules).map(([format, rule]) => {
    const file = write(join(folder, "rejected"), sample, format as EInvoiceFormat);
    return `${checks[format as EInvoiceFormat].invoice[0]}\t${file}\t${rule}`;
  }),
);
writeFileSync(join(folder, "checks.tsv"), valid.join("\n") + "\n");
writeFileSync(join(folder, "rejected.tsv"), rejected.join("\n") + "\n");
console.log(`wrote ${valid.length} checks of valid documents and ${rejected.length} documents to be rejected to ${folder}`);
