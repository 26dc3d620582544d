import * as zlib from "node:zlib";
import type { Invoice } from "@invoicer/sdk";
import { Document, Packer, Paragraph, Table, TableCell, TableRow, WidthType, type ISectionOptions } from "docx";
import { strFromU8, unzipSync } from "fflate";
import { invoiceText } from "./invoice-text.ts";

type Align = "left" | "right";

/*
 * Building each invoice with docx's object model and Packer took ~10 ms for 3 lines and ~60-90 ms for
 * 200, most of it turning the object tree into XML and compressing parts that are the same for every
 * invoice (styles, theme, numbering, settings, relationships). So docx renders a template once per
 * process, with the document settings below and an empty body, and each invoice writes only its body
 * and core properties (title, times), in exactly the markup docx writes for the same paragraphs and
 * tables, into a zip whose other parts were compressed once (~0.5 ms for 3 lines, ~4 ms for 200).
 * test/unit/render.test.ts builds the same documents with docx's object model and compares every part.
 */

const documentOptions = (title: string, children: ISectionOptions["children"]) => ({
  title,
  creator: "invoicer",
  styles: { default: { document: { run: { font: "Arial", size: 18 } } } }, // size is in half-points
  sections: [
    {
      properties: { page: { size: { width: 11906, height: 16838 } } }, // A4 in twentieths of a point
      children,
    },
  ],
});

/** Renders an invoice as an A4 Word document; every value is a single run, lines and VAT breakdown are tables. */
export async function renderInvoiceDocx(invoice: Invoice): Promise<Uint8Array> {
  const tpl = await template;
  const t = invoiceText(invoice);
  const table = (header: string[], rows: string[][], align: Align[], boldFirst = false) => {
    const row = (cells: string[], isHeader: boolean) =>
      `<w:tr><w:trPr>${isHeader ? "<w:tblHeader/>" : `<w:tblHeader w:val="off"/>`}</w:trPr>` +
      // Multi-line descriptions become one paragraph per line.
      cells
        .map(
          (c, i) =>
            `<w:tc>${c
              .split("\n")
              .map((s) => para(s, isHeader || (boldFirst && i === 0), align[i]))
              .join("")}</w:tc>`,
        )
        .join("") +
      "</w:tr>";
    return (
      tpl.tableStart(align.length) + (header.length > 0 ? row(header, true) : "") + rows.map((r) => row(r, false)).join("") + "</w:tbl>"
    );
  };
  const body = [
    heading(1, t.title),
    table([], t.details, ["left", "left"], true),
    heading(3, "Seller"),
    ...t.seller.map((s) => para(s)),
    heading(3, "Buyer"),
    ...t.buyer.map((s) => para(s)),
    heading(3, "Lines"),
    table(t.lineHeader, t.lines, ["right", "left", "right", "right", "right", "right"]),
    heading(3, "VAT breakdown"),
    table(t.vatHeader, t.vat, ["right", "right", "right", "right"]),
    heading(3, "Totals"),
    table([], t.totals, ["right", "right"], true),
    ...(t.note ? [heading(3, "Note"), ...t.note.split("\n").map((s) => para(s))] : []),
  ].join("");
  const now = new Date();
  return zip(
    tpl.parts.map((part) =>
      part.name === documentPath
        ? compressed(part.name, tpl.documentStart + body + tpl.documentEnd)
        : part.name === corePath
          ? compressed(part.name, tpl.core(t.title, now.toISOString()))
          : part,
    ),
    now,
  );
}

// The markup docx writes for new Paragraph({ heading, children: [new TextRun(text)] }) and for
// new Paragraph({ alignment, children: [new TextRun({ text, bold })] }).
const heading = (level: 1 | 3, text: string) =>
  `<w:p><w:pPr><w:pStyle w:val="Heading${level}"/></w:pPr><w:r><w:t xml:space="preserve">${escape(text)}</w:t></w:r></w:p>`;

const para = (text: string, bold = false, align: Align = "left") =>
  `<w:p><w:pPr><w:jc w:val="${align}"/></w:pPr><w:r><w:rPr>${bold ? "<w:b/><w:bCs/>" : `<w:b w:val="false"/><w:bCs w:val="false"/>`}</w:rPr>` +
  `<w:t xml:space="preserve">${escape(text)}</w:t></w:r></w:p>`;

// docx's escaping: markup characters become entities, control characters XML can't hold are dropped.
// So are the other code units XML 1.0 forbids: U+FFFE and U+FFFF, which docx writes as they are (and
// no XML parser then reads the part), and surrogates not in a pair, which UTF-8 encoding would turn
// into U+FFFD. The regex has no u flag: it sees code units.
const entities: Record<string, string> = { "&": "&amp;", '"': "&quot;", "'": "&apos;", "<": "&lt;", ">": "&gt;" };
const markupOrForbidden =
  /[&"'<>\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const escape = (s: string) => s.replace(markupOrForbidden, (c) => entities[c] ?? "");

const documentPath = "word/document.xml";
const corePath = "docProps/core.xml";

interface Template {
  parts: ZipEntry[];
  documentStart: string; // the XML declaration and <w:document …><w:body>
  documentEnd: string; // the section properties and the closing tags
  tableStart(columns: number): string; // <w:tbl> with its properties and grid, which docx works out from the page
  core(title: string, time: string): string;
}

const template = makeTemplate();
template.catch(() => {}); // a failure is reported to each render, not as an unhandled rejection

async function makeTemplate(): Promise<Template> {
  const titleMark = "\u2603title\u2603";
  // One table per column count used above: docx derives each grid's widths from the page size and margins.
  const columns = [2, 4, 6];
  const tables = columns.map(
    (n) =>
      new Table({
        width: { size: 100, type: WidthType.PERCENTAGE },
        rows: [new TableRow({ children: Array.from({ length: n }, () => new TableCell({ children: [new Paragraph("")] })) })],
      }),
  );
  const probe = unzipSync(new Uint8Array(await Packer.toBuffer(new Document(documentOptions(titleMark, tables)))));
  const text = (path: string) => {
    const part = probe[path];
    if (!part) throw new Error(`docx template lacks ${path}`);
    return strFromU8(part);
  };
  const document = text(documentPath);
  const bodyStart = document.indexOf("<w:body>") + "<w:body>".length;
  const bodyEnd = document.lastIndexOf("<w:sectPr");
  const tableStarts = [...document.slice(bodyStart, bodyEnd).matchAll(/<w:tbl>.*?<\/w:tblGrid>/gs)].map((m) => m[0]);
  const core = text(corePath).split(titleMark);
  const times = /(<dcterms:(?:created|modified)\b[^>]*>)[^<]*/g;
  if (
    bodyStart < "<w:body>".length ||
    bodyEnd < bodyStart ||
    tableStarts.length !== columns.length ||
    core.length !== 2 ||
    !times.test(core[1]!)
  ) {
    throw new Error("docx wrote a template this renderer does not understand");
  }
  return {
    // Compressed once here; each document only compresses its body and core properties.
    parts: Object.entries(probe).map(([name, bytes]) => compressed(name, bytes)),
    documentStart: document.slice(0, bodyStart),
    documentEnd: document.slice(bodyEnd),
    tableStart: (n) => {
      const i = columns.indexOf(n);
      if (i < 0) throw new Error(`no template for a table of ${n} columns`);
      return tableStarts[i]!;
    },
    core: (title, time) => core[0] + escape(title) + core[1]!.replace(times, `$1${time}`),
  };
}

/*
 * A minimal zip writer (stored names, DEFLATE, no zip64: a .docx is small). fflate reads the template,
 * but its zipSync compresses every part again on each call: that cost 1.3 ms more per document (0.4
 * -> 1.7 ms for 3 lines), or, storing the template's parts instead, 23 KB more (10 -> 33 KB). Writing
 * entries compressed once takes the ~50 lines below.
 */

interface ZipEntry {
  name: string;
  crc: number;
  size: number; // uncompressed
  data: Buffer; // raw DEFLATE
}

function compressed(name: string, content: string | Uint8Array): ZipEntry {
  const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : content;
  return { name, crc: zlib.crc32(bytes), size: bytes.length, data: zlib.deflateRawSync(bytes) };
}

function zip(entries: ZipEntry[], time: Date): Uint8Array {
  // MS-DOS date and time, local time, as fflate (and so docx) writes them.
  const dosTime = (time.getHours() << 11) | (time.getMinutes() << 5) | (time.getSeconds() >> 1);
  const dosDate = ((time.getFullYear() - 1980) << 9) | ((time.getMonth() + 1) << 5) | time.getDate();
  const names = entries.map((e) => Buffer.from(e.name, "utf8"));
  const localSize = entries.reduce((n, e, i) => n + 30 + names[i]!.length + e.data.length, 0);
  const centralSize = names.reduce((n, name) => n + 46 + name.length, 0);
  const out = Buffer.alloc(localSize + centralSize + 22);
  const header = (p: number, e: ZipEntry, name: Buffer) => {
    out.writeUInt16LE(20, p); // version needed: 2.0, DEFLATE
    out.writeUInt16LE(0, p + 2); // flags
    out.writeUInt16LE(8, p + 4); // DEFLATE
    out.writeUInt16LE(dosTime, p + 6);
    out.writeUInt16LE(dosDate, p + 8);
    out.writeUInt32LE(e.crc, p + 10);
    out.writeUInt32LE(e.data.length, p + 14);
    out.writeUInt32LE(e.size, p + 18);
    out.writeUInt16LE(name.length, p + 22);
  };
  const offsets: number[] = [];
  let p = 0;
  entries.forEach((e, i) => {
    offsets.push(p);
    out.writeUInt32LE(0x04034b50, p);
    header(p + 4, e, names[i]!);
    names[i]!.copy(out, p + 30);
    e.data.copy(out, p + 30 + names[i]!.length);
    p += 30 + names[i]!.length + e.data.length;
  });
  entries.forEach((e, i) => {
    out.writeUInt32LE(0x02014b50, p);
    out.writeUInt16LE(20, p + 4); // version made by
    header(p + 6, e, names[i]!);
    out.writeUInt32LE(offsets[i]!, p + 42); // extra, comment, disk and attributes stay 0
    names[i]!.copy(out, p + 46);
    p += 46 + names[i]!.length;
  });
  out.writeUInt32LE(0x06054b50, p);
  out.writeUInt16LE(entries.length, p + 8);
  out.writeUInt16LE(entries.length, p + 10);
  out.writeUInt32LE(centralSize, p + 12);
  out.writeUInt32LE(localSize, p + 16);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}
