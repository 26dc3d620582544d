import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Invoice } from "@invoicer/sdk";
import PDFDocument from "pdfkit";
import type { EInvoiceExtras } from "./einvoice/index.ts";
import { embedFacturX, facturXOf } from "./facturx.ts";
import { compressFontFileOnce, encodeSubsetsOnce, type FontSubset } from "./font-files.ts";
import { invoiceText } from "./invoice-text.ts";

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
  /** Every code point the font's cmap maps to a glyph. */
  characterSet: number[];
  getGlyph(id: number, codePoints?: number[]): Glyph;
  layout(text: string | Glyph[], ...options: unknown[]): GlyphRun;
  createSubset(): FontSubset;
  /** fontkit's cache of one Glyph per glyph id. */
  _glyphs: Record<number, Glyph | undefined>;
}

interface Face {
  name: string;
  font: FontkitFont;
  /** Widths of characters (with their marks) at the body text's size, the same in every document. */
  charWidths: Map<string, number>;
}

const require = createRequire(import.meta.url);
// dejavu-fonts-ttf has neither an entry point nor an exports map, only files; its package.json locates them.
const fontDir = join(dirname(require.resolve("dejavu-fonts-ttf/package.json")), "ttf");
// fontkit and linebreak are dependencies of pdfkit, not of this package: resolve them from pdfkit to get the copies pdfkit uses.
const requireFromPdfkit = createRequire(require.resolve("pdfkit"));
const fontkit = requireFromPdfkit("fontkit") as { create(data: Uint8Array): FontkitFont };
/** linebreak's Unicode line breaking (UAX #14), with which pdfkit finds the words it wraps text at. */
const LineBreaker = requireFromPdfkit("linebreak") as new (text: string) => { nextBreak(): { position: number } | null };

/**
 * Each face is read and parsed once per thread (so once in each worker of a render pool, pool.ts), and
 * its fontkit font is shared by every document the thread renders:
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
 * A document's text is therefore the same whatever was rendered before it; test/unit/render.test.ts checks
 * that against renderings in fresh workers. Documents never interleave on a font: renderInvoicePdf
 * lays out and subsets a whole document synchronously, before its first await.
 */
function face(name: string, file: string): Face {
  const font = fontkit.create(readFileSync(join(fontDir, file)));
  encodeSubsetsOnce(font);

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
  return { name, font, charWidths: new Map() };
}
const maxGlyphs = 50_000;
const maxCharWidths = 10_000;
const maxRuns = 10_000;
const copy = <T extends object>(o: T, own: Partial<T>): T => Object.assign(Object.create(Object.getPrototypeOf(o)), o, own);

const regular = face("DejaVuSans", "DejaVuSans.ttf");
const bold = face("DejaVuSans-Bold", "DejaVuSans-Bold.ttf");

/** The code points both faces have a glyph for, ascending: the server's table of printable text is made from them. */
export function codePointsBothFacesDraw(): number[] {
  const inBold = new Set(bold.font.characterSet);
  return regular.font.characterSet.filter((c) => inBold.has(c)).sort((a, b) => a - b);
}

/**
 * Renders an invoice as an A4 PDF/A-3b in DejaVu Sans (Latin, Greek, Cyrillic and more), embedded as
 * subsets: a Factur-X / ZUGFeRD EN 16931 invoice, its CII (facturx.ts) embedded as factur-x.xml.
 * `extras` are the EN 16931 fields the proto does not carry yet (einvoice/from-invoice.ts).
 */
export async function renderInvoicePdf(invoice: Invoice, extras: EInvoiceExtras = {}): Promise<Uint8Array> {
  const t = invoiceText(invoice);
  const doc = facturXDocument(invoice, t.title, extras);
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
  for (const [i, [label, lines]] of (
    [
      ["Seller", t.seller],
      ["Buyer", t.buyer],
    ] as const
  ).entries()) {
    const x = margin + i * (half + 20);
    doc.font(bold.name).fontSize(10).text(label, x, top, { width: half });
    doc
      .font(regular.name)
      .fontSize(fontSize)
      .text(breakWideWords(doc, regular, printable(lines.join("\n"), regular), half), x, doc.y, { width: half });
  }
  doc.x = margin;
  doc.y = Math.max(doc.y, top) + 14;

  const amount = 108; // fits "€1,234,567,890.00" on one line; larger amounts wrap
  table(
    doc,
    t.lineHeader,
    t.lines,
    [25, width - 110 - 2 * amount, 50, amount, 35, amount],
    ["right", "left", "right", "right", "right", "right"],
  );
  doc.moveDown();
  table(doc, t.vatHeader, t.vat, [70, 140, 140, width - 350], ["right", "right", "right", "right"]);
  doc.moveDown();
  table(doc, [], t.totals, [width - 200, 200], ["right", "right"], true);
  if (t.note) {
    doc.moveDown();
    doc.font(bold.name).fontSize(10).text("Note", margin);
    doc
      .font(regular.name)
      .fontSize(fontSize)
      .text(breakWideWords(doc, regular, printable(t.note, regular), width), { width });
  }
  doc.end();
  return done;
}

/** An empty PDF/A-3b with the document's fonts and, when EN 16931 can express the invoice, its Factur-X XML. */
function facturXDocument(invoice: Invoice, title: string, extras: EInvoiceExtras): PDFKit.PDFDocument {
  const created = invoice.createTime ? timestampDate(invoice.createTime) : new Date(`${invoice.issueDate}T00:00:00Z`);
  const date = isNaN(created.getTime()) ? undefined : created;
  // A fixed CreationDate makes the output byte-for-byte reproducible.
  const dates = date ? { CreationDate: date, ModDate: date } : {};
  const doc = new PDFDocument({
    size: "A4",
    margin,
    info: { Title: title, ...dates },
    // PDF/A-3 is based on PDF 1.7; pdfkit adds the pdfaid XMP and an sRGB output intent with its own ICC profile.
    pdfVersion: "1.7",
    subset: "PDF/A-3b",
    font: null as unknown as string, // spares pdfkit loading Helvetica, its default, which this document never uses
  });
  const xml = facturXOf(invoice, extras);
  if (xml !== undefined) embedFacturX(doc, xml, date);
  // pdfkit 0.20 takes a fontkit font where its types only name files and buffers.
  for (const f of [regular, bold]) doc.registerFont(f.name, f.font as unknown as Uint8Array);
  // Each face becomes the document's font on its first use; bold first, as the title is (pdfkit numbers them in that order).
  for (const f of [bold, regular])
    compressFontFileOnce((doc.font(f.name) as unknown as { _font: Parameters<typeof compressFontFileOnce>[0] })._font);
  return doc;
}

/** Draws rows of wrapped cells, starting a new page (and repeating the header) when a row does not fit. */
function table(doc: PDFKit.PDFDocument, header: string[], rows: string[][], widths: number[], align: Align[], boldFirst = false) {
  const right = margin + widths.reduce((a, b) => a + b, 0);
  const draw = (cells: string[], isHeader: boolean) => {
    const faces = cells.map((_, i) => (isHeader || (boldFirst && i === 0) ? bold : regular));
    const texts = cells.map((c, i) => breakWideWords(doc, faces[i]!, printable(c, faces[i]!), widths[i]! - 2 * pad));
    const heights = texts.map((c, i) => cellHeight(doc, faces[i]!, c, widths[i]! - 2 * pad));
    const h = Math.max(...heights) + 2 * pad;
    if (doc.y + h > doc.page.height - margin) {
      doc.addPage();
      if (!isHeader && header.length > 0) draw(header, true);
    }
    const y = doc.y;
    let x = margin;
    texts.forEach((c, i) => {
      drawCell(doc, faces[i]!, c, x + pad, y + pad, widths[i]! - 2 * pad, align[i]!);
      x += widths[i]!;
    });
    doc
      .moveTo(margin, y + h)
      .lineTo(right, y + h)
      .lineWidth(isHeader ? 0.8 : 0.3)
      .strokeColor("#888")
      .stroke();
    doc.x = margin;
    doc.y = y + h;
  };
  if (header.length > 0) draw(header, true);
  for (const row of rows) draw(row, false);
}

// What makes a line break wherever it stands (UAX #14's BK, CR, LF and NL classes), and the soft hyphen,
// which pdfkit draws as a hyphen where it breaks a line.
const mandatoryBreakOrSoftHyphen = /[\n\v\f\r\u0085\u2028\u2029\u00AD]/;

/** Whether the text is surely one line in `width`: no break, and far narrower (kerning and ligatures change a width by a few per cent). */
function surelyOneLine(doc: PDFKit.PDFDocument, face: Face, text: string, width: number): boolean {
  return text !== "" && !mandatoryBreakOrSoftHyphen.test(text) && estimatedWidth(doc, face, text) <= width * 0.8;
}

/**
 * The height pdfkit's heightOfString gives the cell's text, which lays the text out and wraps it, as
 * drawing it does again: measuring was an eighth of a short invoice's PDF (8 % of its five formats' render).
 * A text that is surely one line (most cells: numbers, amounts, names) is one line high, worked out
 * as heightOfString works it out, to the last bit.
 */
function cellHeight(doc: PDFKit.PDFDocument, face: Face, text: string, width: number): number {
  doc.font(face.name).fontSize(fontSize);
  if (!surelyOneLine(doc, face, text, width)) return doc.heightOfString(text, { width });
  const y = doc.y;
  return y + doc.currentLineHeight(true) - y;
}

/**
 * Draws a cell's text at (x, y), wrapped in `width`. pdfkit's line wrapper measures every word of a
 * text again to find its lines (an eighth of a short invoice's render); a text that is surely one line
 * is drawn as the wrapper would draw its one line: at x, or, aligned right, at x plus the width left
 * once its trailing spaces are taken off, in pdfkit's own arithmetic (so the PDF's bytes are the same).
 */
function drawCell(doc: PDFKit.PDFDocument, face: Face, text: string, x: number, y: number, width: number, align: Align) {
  doc.font(face.name).fontSize(fontSize);
  if (!surelyOneLine(doc, face, text, width)) return void doc.text(text, x, y, { width, align });
  const lineWidth = (width * 100) / 100; // the wrapper's line width at 100 % horizontal scaling
  const left = align === "right" ? x + (lineWidth - doc.widthOfString(text.replace(/\s+$/, ""))) : x;
  doc.text(text, left, y, { lineBreak: false });
}

/**
 * The text with every word wider than `width` (in the face, at the body text's size) split into
 * lines that fit, joined with "\n": the PDF's text keeps the same characters, on several lines.
 * pdfkit would break such a word itself, but it lays out the whole rest of the word again for every
 * line it takes off, and moves each line's end a character at a time, laying the line out again each
 * time: quadratic in the word's length (100 lines of 500 letters took seconds). Words are the ones
 * pdfkit wraps at (linebreak, UAX #14), so text without over-wide words reaches pdfkit unchanged.
 */
function breakWideWords(doc: PDFKit.PDFDocument, face: Face, text: string, width: number): string {
  doc.font(face.name).fontSize(fontSize); // what widthOfString measures in
  // Most texts (numbers, amounts, names) are far narrower than their column, whatever their words.
  if (estimatedWidth(doc, face, text) <= width / 2) return text;
  const breaker = new LineBreaker(text);
  let out = "";
  let start = 0;
  for (let brk = breaker.nextBreak(); brk !== null; brk = breaker.nextBreak()) {
    const word = text.slice(start, brk.position);
    out += tooWide(doc, face, word, width) ? splitWord(doc, face, word, width).join("\n") : word;
    start = brk.position;
  }
  return out + text.slice(start);
}

/** Whether pdfkit finds the word wider than `width`; laid out only when its characters' widths leave doubt. */
function tooWide(doc: PDFKit.PDFDocument, face: Face, word: string, width: number): boolean {
  const estimate = estimatedWidth(doc, face, word);
  if (estimate <= width / 2) return false;
  if (estimate >= width * 2) return true;
  return doc.widthOfString(word) > width;
}

/** The sum of the text's characters' widths, which kerning and ligatures make differ by a few per cent, never by half. */
function estimatedWidth(doc: PDFKit.PDFDocument, face: Face, text: string): number {
  let sum = 0;
  for (const c of text) sum += charWidth(doc, face, c);
  return sum;
}

/** A character's width in `face` (the document's current font) at the body text's size, measured once per face. */
function charWidth(doc: PDFKit.PDFDocument, face: Face, c: string): number {
  let width = face.charWidths.get(c);
  if (width === undefined) {
    if (face.charWidths.size >= maxCharWidths) face.charWidths.clear();
    face.charWidths.set(c, (width = doc.widthOfString(c)));
  }
  return width;
}

// A character and the marks that follow it, which a line break must not separate. (Intl.Segmenter
// finds grapheme clusters too, but takes ~20 µs a character, far more than laying the text out.)
const letterWithMarks = /\P{M}\p{M}*|\p{M}+/gu;

/** Splits a word into lines no wider than `width`, measuring each character once: linear in the word's length. */
function splitWord(doc: PDFKit.PDFDocument, face: Face, word: string, width: number): string[] {
  const chars = word.match(letterWithMarks) ?? [];
  const newline = charWidth(doc, face, "\n"); // pdfkit measures a line with the "\n" that ends it, which has a width
  // A line as pdfkit measures it when it wraps the text: its layout cache makes measuring it here free.
  const line = (from: number, to: number) => chars.slice(from, to).join("") + (to < chars.length ? "\n" : "");
  const measure = (from: number, to: number) => doc.widthOfString(line(from, to));
  const pieces: string[] = [];
  for (let start = 0; start < chars.length;) {
    let end = start + 1; // at least one character a line, as pdfkit does
    let sum = newline + charWidth(doc, face, chars[start]!);
    while (end < chars.length && sum + charWidth(doc, face, chars[end]!) <= width) sum += charWidth(doc, face, chars[end++]!);
    // Kerning makes a line's width differ from the sum of its characters': correct the guess by measuring.
    let measured = measure(start, end);
    while (end > start + 1 && measured > width) measured = measure(start, --end);
    while (end < chars.length && measured + charWidth(doc, face, chars[end]!) <= width) {
      const longer = measure(start, end + 1);
      if (longer > width) break;
      measured = longer;
      end++;
    }
    pieces.push(chars.slice(start, end).join(""));
    start = end;
  }
  return pieces;
}

const ignorable = /^\p{Default_Ignorable_Code_Point}$/u;

/**
 * Text as the face can print it. The server accepts only text the faces print (decision 0039), but
 * invoices stored before may hold characters without a glyph (CJK, most emoji): they would come
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
