import { DocumentFormat, type Invoice } from "@invoicer/sdk";
import { renderInvoiceDocx } from "./docx.ts";
import { renderInvoicePdf } from "./pdf.ts";

export interface RenderedDocument {
  format: DocumentFormat;
  content: Uint8Array;
}

/** Renders every document format the API knows for one invoice; the server names their content types. */
export async function renderInvoiceDocuments(invoice: Invoice): Promise<RenderedDocument[]> {
  // The PDF's Factur-X XML holds what the proto carries (a credit note's preceding invoice included).
  const [pdf, docx] = await Promise.all([renderInvoicePdf(invoice), renderInvoiceDocx(invoice)]);
  return [
    { format: DocumentFormat.PDF, content: pdf },
    { format: DocumentFormat.DOCX, content: docx },
  ];
}
