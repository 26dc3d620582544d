import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Invoice } from "@invoicer/sdk";
import PDFDocument from "pdfkit";
import { invoiceText } from "./fields.ts";

const margin = 40;
const pad = 3;
const fontSize = 9;
type Align = "left" | "right";

/** The part of a fontkit font used here (fontkit ships no type declarations). */
interface GlyphCoverage {
  hasGlyphForCodePoint(codePoint: number): boolean;
}

interface Face {
  name: string;
  data: Buffer;
  coverage: GlyphCoverage;
}

const require = createRequire(import.meta.url);
// dejavu-fonts-ttf has neither an entry point nor an exports map, only files; its package.json locates them.
const fontDir = join(dirname(require.resolve("dejavu-fonts-ttf/package.json")), "ttf");
// fontkit is a dependency of pdfkit, not of this package: resolve it from pdfkit to get the copy pdfkit uses.
const fontkit = createRequire(require.resolve("pdfkit"))("fontkit") as { create(data: Uint8Array): GlyphCoverage };

/**
 * Each face is read and parsed once per process. pdfkit parses its own copy for every document:
 * a fontkit font caches the code points of each glyph on first use, and pdfkit writes them
 * into the ToUnicode map, so a font shared between documents would make one document's text
 * depend on what was rendered before it.
 */
function face(name: string, file: string): Face {
  const data = readFileSync(join(fontDir, file));
  return { name, data, coverage: fontkit.create(data) };
}
const regular = face("DejaVuSans", "DejaVuSans.ttf");
const bold = face("DejaVuSans-Bold", "DejaVuSans-Bold.ttf");

/** Renders an invoice as an A4 PDF in DejaVu Sans (Latin, Greek, Cyrillic and more), embedded as subsets. */
export async function renderInvoicePdf(invoice: Invoice): Promise<Uint8Array> {
  const t = invoiceText(invoice);
  const created = invoice.createTime ? timestampDate(invoice.createTime) : new Date(`${invoice.issueDate}T00:00:00Z`);
  // A fixed CreationDate makes the output byte-for-byte reproducible.
  const dates = isNaN(created.getTime()) ? {} : { CreationDate: created, ModDate: created };
  const doc = new PDFDocument({ size: "A4", margin, info: { Title: t.title, ...dates } });
  for (const f of [regular, bold]) doc.registerFont(f.name, f.data);
  const chunks: Buffer[] = [];
  doc.on("data", (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<Uint8Array>((resolve, reject) => {
    doc.on("end", () => resolve(new Uint8Array(Buffer.concat(chunks))));
    doc.on("error", reject);
  });

  const width = doc.page.width - 2 * margin;
  doc.font(bold.name).fontSize(18).text(printable(t.title, bold));
  doc.moveDown(0.5);
  table(doc, [], t.details, [110, width - 110], ["left", "left"], true);
  doc.moveDown();

  const top = doc.y;
  const half = (width - 20) / 2;
  for (const [i, [label, lines]] of ([["Seller", t.seller], ["Buyer", t.buyer]] as const).entries()) {
    const x = margin + i * (half + 20);
    doc.font(bold.name).fontSize(10).text(label, x, top, { width: half });
    doc.font(regular.name).fontSize(fontSize).text(printable(lines.join("\n"), regular), x, doc.y, { width: half });
  }
  doc.x = margin;
  doc.y = Math.max(doc.y, top) + 14;

  const amount = 108; // fits "1,234,567,890.00 EUR" on one line; larger amounts wrap
  table(doc, t.lineHeader, t.lines, [25, width - 110 - 2 * amount, 50, amount, 35, amount], ["right", "left", "right", "right", "right", "right"]);
  doc.moveDown();
  table(doc, t.vatHeader, t.vat, [70, 140, 140, width - 350], ["right", "right", "right", "right"]);
  doc.moveDown();
  table(doc, [], t.totals, [width - 200, 200], ["right", "right"], true);
  if (t.note) {
    doc.moveDown();
    doc.font(bold.name).fontSize(10).text("Note", margin);
    doc.font(regular.name).fontSize(fontSize).text(printable(t.note, regular), { width });
  }
  doc.end();
  return done;
}

/** Draws rows of wrapped cells, starting a new page (and repeating the header) when a row does not fit. */
function table(doc: PDFKit.PDFDocument, header: string[], rows: string[][], widths: number[], align: Align[], boldFirst = false) {
  const right = margin + widths.reduce((a, b) => a + b, 0);
  const draw = (cells: string[], isHeader: boolean) => {
    const faces = cells.map((_, i) => (isHeader || (boldFirst && i === 0) ? bold : regular));
    const texts = cells.map((c, i) => printable(c, faces[i]!));
    const heights = texts.map((c, i) => doc.font(faces[i]!.name).fontSize(fontSize).heightOfString(c, { width: widths[i]! - 2 * pad }));
    const h = Math.max(...heights) + 2 * pad;
    if (doc.y + h > doc.page.height - margin) {
      doc.addPage();
      if (!isHeader && header.length > 0) draw(header, true);
    }
    const y = doc.y;
    let x = margin;
    texts.forEach((c, i) => {
      doc.font(faces[i]!.name).fontSize(fontSize).text(c, x + pad, y + pad, { width: widths[i]! - 2 * pad, align: align[i] });
      x += widths[i]!;
    });
    doc.moveTo(margin, y + h).lineTo(right, y + h).lineWidth(isHeader ? 0.8 : 0.3).strokeColor("#888").stroke();
    doc.x = margin;
    doc.y = y + h;
  };
  if (header.length > 0) draw(header, true);
  for (const row of rows) draw(row, false);
}

const ignorable = /^\p{Default_Ignorable_Code_Point}$/u;

/**
 * Text as the face can print it. Characters it has no glyph for (CJK, most emoji) would come
 * out as an empty box with no text behind it, so they become "?"; invisible ones without a
 * glyph (variation selectors, joiners) are dropped. Tabs have no glyph and become spaces.
 * NFC composes decomposed accents into the precomposed letters the font draws best.
 */
function printable(s: string, face: Face): string {
  let out = "";
  for (const c of s.normalize("NFC").replace(/\t/g, "    ")) {
    const codePoint = c.codePointAt(0)!;
    if (c === "\n" || face.coverage.hasGlyphForCodePoint(codePoint)) out += c;
    else if (!ignorable.test(c)) out += "?";
  }
  return out;
}
