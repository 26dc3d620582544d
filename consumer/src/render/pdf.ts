import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Invoice } from "@invoicer/sdk";
import PDFDocument from "pdfkit";
import { invoiceText } from "./fields.ts";

const margin = 40;
const pad = 3;
const fontSize = 9;
type Align = "left" | "right";

/** Renders an invoice as an A4 PDF with the built-in Helvetica fonts (WinAnsi: Latin-1 plus € and typographic marks). */
export async function renderInvoicePdf(invoice: Invoice): Promise<Uint8Array> {
  const t = invoiceText(invoice);
  const created = invoice.createTime ? timestampDate(invoice.createTime) : new Date(`${invoice.issueDate}T00:00:00Z`);
  // A fixed CreationDate makes the output byte-for-byte reproducible.
  const dates = isNaN(created.getTime()) ? {} : { CreationDate: created, ModDate: created };
  const doc = new PDFDocument({ size: "A4", margin, info: { Title: t.title, ...dates } });
  const chunks: Buffer[] = [];
  doc.on("data", (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<Uint8Array>((resolve, reject) => {
    doc.on("end", () => resolve(new Uint8Array(Buffer.concat(chunks))));
    doc.on("error", reject);
  });

  const width = doc.page.width - 2 * margin;
  doc.font("Helvetica-Bold").fontSize(18).text(plain(t.title));
  doc.moveDown(0.5);
  table(doc, [], t.details, [110, width - 110], ["left", "left"], true);
  doc.moveDown();

  const top = doc.y;
  const half = (width - 20) / 2;
  for (const [i, [label, lines]] of ([["Seller", t.seller], ["Buyer", t.buyer]] as const).entries()) {
    const x = margin + i * (half + 20);
    doc.font("Helvetica-Bold").fontSize(10).text(label, x, top, { width: half });
    doc.font("Helvetica").fontSize(fontSize).text(plain(lines.join("\n")), x, doc.y, { width: half });
  }
  doc.x = margin;
  doc.y = Math.max(doc.y, top) + 14;

  const amount = 100; // fits "1,234,567,890.00 EUR" on one line; larger amounts wrap
  table(doc, t.lineHeader, t.lines, [25, width - 110 - 2 * amount, 50, amount, 35, amount], ["right", "left", "right", "right", "right", "right"]);
  doc.moveDown();
  table(doc, t.vatHeader, t.vat, [70, 140, 140, width - 350], ["right", "right", "right", "right"]);
  doc.moveDown();
  table(doc, [], t.totals, [width - 200, 200], ["right", "right"], true);
  if (t.note) {
    doc.moveDown();
    doc.font("Helvetica-Bold").fontSize(10).text("Note", margin);
    doc.font("Helvetica").fontSize(fontSize).text(plain(t.note), { width });
  }
  doc.end();
  return done;
}

/** Draws rows of wrapped cells, starting a new page (and repeating the header) when a row does not fit. */
function table(doc: PDFKit.PDFDocument, header: string[], rows: string[][], widths: number[], align: Align[], boldFirst = false) {
  const right = margin + widths.reduce((a, b) => a + b, 0);
  const draw = (cells: string[], isHeader: boolean) => {
    const fontOf = (i: number) => (isHeader || (boldFirst && i === 0) ? "Helvetica-Bold" : "Helvetica");
    const heights = cells.map((c, i) => doc.font(fontOf(i)).fontSize(fontSize).heightOfString(plain(c), { width: widths[i]! - 2 * pad }));
    const h = Math.max(...heights) + 2 * pad;
    if (doc.y + h > doc.page.height - margin) {
      doc.addPage();
      if (!isHeader && header.length > 0) draw(header, true);
    }
    const y = doc.y;
    let x = margin;
    cells.forEach((c, i) => {
      doc.font(fontOf(i)).fontSize(fontSize).text(plain(c), x + pad, y + pad, { width: widths[i]! - 2 * pad, align: align[i] });
      x += widths[i]!;
    });
    doc.moveTo(margin, y + h).lineTo(right, y + h).lineWidth(isHeader ? 0.8 : 0.3).strokeColor("#888").stroke();
    doc.x = margin;
    doc.y = y + h;
  };
  if (header.length > 0) draw(header, true);
  for (const row of rows) draw(row, false);
}

const winAnsiExtras = new Set("€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ");
const folds: Record<string, string> = { Ł: "L", ł: "l", Đ: "D", đ: "d", ı: "i" };

/**
 * Built-in fonts only encode WinAnsi and pdfkit corrupts the text run on anything else,
 * so other characters lose their accents (Łódź → Lódz) or become "?". Tabs have no glyph.
 */
function plain(s: string): string {
  return s.replace(/\t/g, "    ").replace(/[^\n\u0020-\u007e\u00a0-\u00ff]/gu, (c) => {
    if (winAnsiExtras.has(c)) return c;
    const base = folds[c] ?? c.normalize("NFKD").replace(/\p{M}/gu, "");
    return /^[\u0020-\u007e\u00a0-\u00ff]+$/.test(base) ? base : "?";
  });
}
