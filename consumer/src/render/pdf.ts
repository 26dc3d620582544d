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

/** The parts of fontkit used here (fontkit ships no type declarations). */
interface Glyph {
  id: number;
  codePoints: number[];
  /** Parses the glyph's outline from the font, again on every call. */
  _decode(): unknown;
}
interface GlyphRun {
  glyphs: Glyph[];
  positions: object[];
}
interface FontkitFont {
  hasGlyphForCodePoint(codePoint: number): boolean;
  getGlyph(id: number, codePoints?: number[]): Glyph;
  layout(text: string | Glyph[], ...options: unknown[]): GlyphRun;
  /** fontkit's cache of one Glyph per glyph id. */
  _glyphs: Record<number, Glyph | undefined>;
}

interface Face {
  name: string;
  font: FontkitFont;
}

const require = createRequire(import.meta.url);
// dejavu-fonts-ttf has neither an entry point nor an exports map, only files; its package.json locates them.
const fontDir = join(dirname(require.resolve("dejavu-fonts-ttf/package.json")), "ttf");
// fontkit is a dependency of pdfkit, not of this package: resolve it from pdfkit to get the copy pdfkit uses.
const fontkit = createRequire(require.resolve("pdfkit"))("fontkit") as { create(data: Uint8Array): FontkitFont };

/**
 * Each face is read and parsed once per process, and its fontkit font is shared by every document:
 * parsing both fonts again for each document (pdfkit does that when given the file), GSUB, GPOS,
 * kern and glyph tables, took ~30 of the ~40 ms a short invoice took.
 *
 * Sharing as such would make a document depend on what was rendered before it. fontkit keeps one
 * Glyph per glyph id, holding the code points of whatever text first asked for it, and pdfkit shapes
 * with those code points and writes them into the ToUnicode map (the text that copy-paste, search and
 * text extraction get). After an "ﬁ" (U+FB01), the "fi" ligature in "findings" would come out as "ﬁ";
 * after an "Ą", whose glyph is drawn from the "A" glyph and an ogonek, the subset adds the "A" glyph
 * with no code points, and a later document's "A" would extract as nothing. So glyphs are kept per
 * glyph id *and* code points: whoever asks for a glyph gets one carrying the code points it asked with,
 * whatever was asked for before. That is what a fresh font gives a document's first use of a glyph,
 * and it is the same for every document.
 *
 * With that, laying out a word is a function of the word and the face alone (fontkit's GSUB and GPOS
 * processors keep no state between layouts that changes a result), so layouts are kept across
 * documents too, the least recently used dropped first. pdfkit scales a layout's positions in place,
 * so each use gets a copy. Both caches are bounded; what they drop is made again, the same.
 * A document's text is therefore the same whatever was rendered before it; test/render.test.ts checks
 * that against renderings in fresh workers. Documents never interleave on a font: renderInvoicePdf
 * lays out and subsets a whole document synchronously, before its first await.
 */
function face(name: string, file: string): Face {
  const font = fontkit.create(readFileSync(join(fontDir, file)));

  const getGlyph = font.getGlyph;
  const glyphs = new Map<string, Glyph>();
  font.getGlyph = (id, codePoints = []) => {
    const key = `${id}:${codePoints.join(",")}`;
    const known = glyphs.get(key);
    if (known !== undefined) return known;
    delete font._glyphs[id]; // makes fontkit create a glyph for these code points
    const glyph = getGlyph.call(font, id, codePoints);
    // A document's subset parses the outline of each glyph in it (to find the parts of composite
    // glyphs), which took a fifth of a short invoice's time; outlines never change (these fonts
    // have no variations), so each glyph keeps its own.
    const decode = glyph._decode;
    let outline: unknown;
    glyph._decode = () => (outline ??= decode.call(glyph));
    if (glyphs.size >= maxGlyphs) glyphs.clear();
    glyphs.set(key, glyph);
    return glyph;
  };

  const layout = font.layout;
  const runs = new Map<string, GlyphRun>();
  font.layout = (text, ...options) => {
    // pdfkit lays out runs of text up to a space and passes no features, script or language.
    if (typeof text !== "string" || options.some((o) => o !== undefined)) return layout.call(font, text, ...options);
    let run = runs.get(text);
    if (run === undefined) {
      run = layout.call(font, text);
      if (runs.size >= maxRuns) runs.delete(runs.keys().next().value!);
    } else {
      runs.delete(text); // to the end of the map, the most recently used
    }
    runs.set(text, run);
    return copy(run, { glyphs: run.glyphs.slice(), positions: run.positions.map((p) => copy(p, {})) });
  };
  return { name, font };
}
const maxGlyphs = 50_000;
const maxRuns = 10_000;
const copy = <T extends object>(o: T, own: Partial<T>): T => Object.assign(Object.create(Object.getPrototypeOf(o)), o, own);

const regular = face("DejaVuSans", "DejaVuSans.ttf");
const bold = face("DejaVuSans-Bold", "DejaVuSans-Bold.ttf");

/** Renders an invoice as an A4 PDF in DejaVu Sans (Latin, Greek, Cyrillic and more), embedded as subsets. */
export async function renderInvoicePdf(invoice: Invoice): Promise<Uint8Array> {
  const t = invoiceText(invoice);
  const created = invoice.createTime ? timestampDate(invoice.createTime) : new Date(`${invoice.issueDate}T00:00:00Z`);
  // A fixed CreationDate makes the output byte-for-byte reproducible.
  const dates = isNaN(created.getTime()) ? {} : { CreationDate: created, ModDate: created };
  // font: null spares pdfkit loading Helvetica, its default, which this document never uses.
  const doc = new PDFDocument({ size: "A4", margin, info: { Title: t.title, ...dates }, font: null as unknown as string });
  // pdfkit 0.20 takes a fontkit font where its types only name files and buffers.
  for (const f of [regular, bold]) doc.registerFont(f.name, f.font as unknown as Uint8Array);
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
    if (c === "\n" || face.font.hasGlyphForCodePoint(codePoint)) out += c;
    else if (!ignorable.test(c)) out += "?";
  }
  return out;
}
