import type { Invoice } from "@invoicer/sdk";
import { AlignmentType, Document, HeadingLevel, Packer, Paragraph, Table, TableCell, TableRow, TextRun, WidthType } from "docx";
import { invoiceText } from "./fields.ts";

type Align = "left" | "right";

/** Renders an invoice as an A4 Word document; every value is a single run, lines and VAT breakdown are tables. */
export async function renderInvoiceDocx(invoice: Invoice): Promise<Uint8Array> {
  const t = invoiceText(invoice);
  const doc = new Document({
    title: t.title,
    creator: "invoicer",
    styles: { default: { document: { run: { font: "Arial", size: 18 } } } }, // size is in half-points
    sections: [{
      properties: { page: { size: { width: 11906, height: 16838 } } }, // A4 in twentieths of a point
      children: [
        new Paragraph({ heading: HeadingLevel.HEADING_1, children: [new TextRun(t.title)] }),
        table([], t.details, ["left", "left"], true),
        heading("Seller"), ...t.seller.map((s) => para(s)),
        heading("Buyer"), ...t.buyer.map((s) => para(s)),
        heading("Lines"),
        table(t.lineHeader, t.lines, ["right", "left", "right", "right", "right", "right"]),
        heading("VAT breakdown"),
        table(t.vatHeader, t.vat, ["right", "right", "right", "right"]),
        heading("Totals"),
        table([], t.totals, ["right", "right"], true),
        ...(t.note ? [heading("Note"), ...t.note.split("\n").map((s) => para(s))] : []),
      ],
    }],
  });
  return new Uint8Array(await Packer.toBuffer(doc));
}

const heading = (text: string) => new Paragraph({ heading: HeadingLevel.HEADING_3, children: [new TextRun(text)] });

const para = (text: string, bold = false, align: Align = "left") =>
  new Paragraph({
    alignment: align === "right" ? AlignmentType.RIGHT : AlignmentType.LEFT,
    children: [new TextRun({ text, bold })],
  });

function table(header: string[], rows: string[][], align: Align[], boldFirst = false): Table {
  const row = (cells: string[], isHeader: boolean) =>
    new TableRow({
      tableHeader: isHeader, // repeated at the top of every page
      children: cells.map((c, i) => new TableCell({
        // Multi-line descriptions become one paragraph per line.
        children: c.split("\n").map((s) => para(s, isHeader || (boldFirst && i === 0), align[i])),
      })),
    });
  return new Table({
    width: { size: 100, type: WidthType.PERCENTAGE },
    rows: [...(header.length > 0 ? [row(header, true)] : []), ...rows.map((r) => row(r, false))],
  });
}
