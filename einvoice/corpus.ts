// The e-invoice corpus: every sample invoice and credit note of test/support/einvoice-samples.ts in every
// XML format, written to a folder with the validator kinds each file must pass, and the samples each
// format must refuse with the rule the validator must name. Later: generated through the running system.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DocumentType } from "@invoicer/sdk";
import { eInvoiceOf, eInvoiceWriters, type EInvoiceFormat } from "../consumer/src/render/einvoice/index.ts";
import { renderInvoicePdf } from "../consumer/src/render/pdf.ts";
import { allSamples, rejectedSamples, type Sample } from "../test/support/einvoice-samples.ts";
import type { DocumentKind, EInvoiceDocument } from "./validate.ts";

/** The validator kinds each format must pass, for an invoice and a credit note. */
const checks: Record<EInvoiceFormat, { invoice: DocumentKind[]; creditNote: DocumentKind[] }> = {
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

/**
 * Writes the corpus to `folder` (emptied first): the valid documents with their kinds (each sample's invoice
 * PDF too, a Factur-X PDF/A-3b), and those to be refused with their rule.
 */
export async function writeCorpus(folder: string) {
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(join(folder, "rejected"), { recursive: true });
  const valid: EInvoiceDocument[] = allSamples().flatMap((sample) =>
    formats.flatMap((format) => {
      const path = write(folder, sample, format);
      return checks[format][sample.invoice.documentType === DocumentType.CREDIT_NOTE ? "creditNote" : "invoice"].map((kind) => ({
        path,
        kind,
      }));
    }),
  );
  for (const sample of allSamples()) {
    const path = join(folder, `${sample.name}.facturx.pdf`);
    writeFileSync(path, await renderInvoicePdf(sample.invoice, sample.extras));
    valid.push({ path, kind: "factur-x-pdf" });
  }
  const rejected = rejectedSamples().flatMap((sample) =>
    Object.entries(sample.rules).map(([format, rule]) => ({
      document: {
        path: write(join(folder, "rejected"), sample, format as EInvoiceFormat),
        kind: checks[format as EInvoiceFormat].invoice[0]!,
      },
      rule,
    })),
  );
  return { valid, rejected };
}
