import { formatGaps } from "@invoicer/platform/einvoice-profiles";
import { DocumentFormat, type Invoice } from "@invoicer/sdk";
import { renderInvoiceDocx } from "./docx.ts";
import { eInvoiceOf, eInvoiceWriters, type EInvoiceFormat } from "./einvoice/index.ts";
import { renderInvoicePdf } from "./pdf.ts";

export interface RenderedDocument {
  format: DocumentFormat;
  content: Uint8Array;
}

/** The XML e-invoice formats, each with its writer; rendered when the invoice meets the format's profile. */
const xmlFormats: [DocumentFormat, EInvoiceFormat][] = [
  [DocumentFormat.XRECHNUNG_UBL, "xrechnungUbl"],
  [DocumentFormat.XRECHNUNG_CII, "xrechnungCii"],
  [DocumentFormat.PEPPOL_UBL, "peppolUbl"],
];

/** Renders every document format the invoice can be: the PDF and DOCX always, each XML format whose profile it meets. */
export async function renderInvoiceDocuments(invoice: Invoice): Promise<RenderedDocument[]> {
  // The PDF's Factur-X XML holds what the proto carries (a credit note's preceding invoice included).
  const [pdf, docx] = await Promise.all([renderInvoicePdf(invoice), renderInvoiceDocx(invoice)]);
  return [{ format: DocumentFormat.PDF, content: pdf }, { format: DocumentFormat.DOCX, content: docx }, ...renderXmlFormats(invoice)];
}

function renderXmlFormats(invoice: Invoice): RenderedDocument[] {
  const met = xmlFormats.filter(([format]) => formatGaps(invoice, format).length === 0);
  if (met.length === 0) return [];
  const model = eInvoiceOf(invoice);
  const utf8 = new TextEncoder();
  return met.map(([format, writer]) => ({ format, content: utf8.encode(eInvoiceWriters[writer](model)) }));
}
