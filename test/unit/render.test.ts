import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { DocumentFormat, InvoiceSchema, InvoiceStatus, type Invoice, type PartySchema } from "@invoicer/sdk";
import { AlignmentType, Document, HeadingLevel, Packer, Paragraph, Table, TableCell, TableRow, TextRun, WidthType } from "docx";
import { unzipSync } from "fflate";
import PDFDocument from "pdfkit";
import { extractText, getDocumentProxy } from "unpdf";
import { formatMoney as formatIn } from "@invoicer/platform/money";
import { renderInvoiceDocx } from "../../consumer/src/render/docx.ts";
import { documentLanguage, invoiceText } from "../../consumer/src/render/invoice-text.ts";
import { renderInvoiceDocuments } from "../../consumer/src/render/index.ts";
import { formatRate } from "../../consumer/src/render/money.ts";
import { renderInvoicePdf } from "../../consumer/src/render/pdf.ts";
import { createRenderPool, RenderTimeoutError, type RenderPool } from "../../consumer/src/render/pool.ts";
import { priceInvoice } from "../../server/src/domain/pricing.ts";
import { vatBreakdownToProto } from "../../server/src/invoices/to-proto.ts";
import { invoiceOf, invoiceSamples } from "../support/einvoice-samples.ts";
import { sampleInvoice } from "@invoicer/devstack/samples";

const formatMoney = (minor: bigint, currency: string) => formatIn(minor, currency, documentLanguage);

const longDescription =
  "On-site workshop with the infrastructure team, including preparation, travel and a written summary " +
  "of all findings and recommendations for the next two quarters — billed per day";

type LineInit = { description: string; quantity: bigint; unitPriceMinor: bigint; vatRateBp: number };
type PartyInit = MessageInitShape<typeof PartySchema>;

function invoice(lines: LineInit[], parties: { seller?: PartyInit; buyer?: PartyInit } = {}): Invoice {
  const p = priceInvoice(lines);
  return create(InvoiceSchema, {
    id: "0190f3a2-7c4e-7d21-9b1a-3f5e8c2d4a61",
    number: 4711n,
    status: InvoiceStatus.ISSUED,
    currencyCode: "EUR",
    seller: {
      name: "Acme Consulting GmbH",
      vatId: "DE123456789",
      address: { street: "Hauptstraße 1", city: "Berlin", postalCode: "10115", countryCode: "DE" },
    },
    buyer: {
      name: "Client SARL",
      vatId: "FR12345678901",
      address: { street: "12 rue de la Paix", city: "Paris", postalCode: "75002", countryCode: "FR" },
    },
    lines: lines.map((l, i) => ({ ...l, netMinor: p.netMinor[i]! })),
    vatBreakdown: p.vatBreakdown.map(vatBreakdownToProto),
    subtotalMinor: p.subtotalMinor,
    vatTotalMinor: p.vatTotalMinor,
    totalMinor: p.totalMinor,
    issueDate: "2026-03-31",
    supplyDate: "2026-03-15",
    dueDate: "2026-04-30",
    note: "Payable by bank transfer.",
    createTime: timestampFromDate(new Date("2026-03-31T09:30:00Z")),
    ...parties,
  });
}

const sample = invoice([
  { description: longDescription, quantity: 12n, unitPriceMinor: 150_000n, vatRateBp: 1900 },
  { description: "Hosting (monthly)", quantity: 1n, unitPriceMinor: 4_999n, vatRateBp: 1900 },
  { description: "Reference books", quantity: 3n, unitPriceMinor: 1_250n, vatRateBp: 700 },
]);

/** Words of random letters (the same every run), with no spaces: pdfkit has to break them itself. */
function unbreakableWords(count: number, length: number): string[] {
  let seed = 4711;
  const letter = () => String.fromCharCode(97 + ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % 26));
  return Array.from({ length: count }, () => Array.from({ length }, letter).join(""));
}

/** The invoice of issue 13: 100 lines of 500 letters without a space, which once took seconds to render. */
const heavy = invoice(unbreakableWords(100, 500).map((description) => ({ description, quantity: 1n, unitPriceMinor: 1n, vatRateBp: 0 })));

const squash = (s: string) => s.replace(/\s+/g, " ");
const xmlEscape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

const docxRuns = (docx: Uint8Array) =>
  [...new TextDecoder().decode(unzipSync(docx)["word/document.xml"]).matchAll(/<w:t(?: [^>]*)?>([^<]*)<\/w:t>/g)].map((m) => m[1]!);

async function pdfText(pdf: Uint8Array) {
  // pdf.js may detach the buffer it is given, so hand it a copy.
  const { totalPages, text } = await extractText(await getDocumentProxy(pdf.slice()), { mergePages: true });
  return { totalPages, text: squash(text) };
}

describe("invoice text", () => {
  it("shows a decimal quantity (BT-129) as the request wrote it, not the whole-unit quantity it replaces", () => {
    const request = sampleInvoice();
    Object.assign(request.lines[0]!, { quantity: 0n, quantityDecimal: "1.5", unitCode: "HUR" });
    const text = invoiceText(invoiceOf(request, 7n));
    assert.deepEqual(
      text.lines.map((l) => l[2]),
      ["1.5", "2"],
    );
  });
});

describe("money formatting", () => {
  it("formats minor units exactly with the currency's digits", () => {
    assert.equal(formatMoney(123456789n, "EUR"), "€1,234,567.89");
    assert.equal(formatMoney(123456789n, "JPY"), "¥123,456,789");
    assert.equal(formatMoney(123456789n, "BHD"), "BHD\u00a0123,456.789");
    assert.equal(formatMoney(5n, "KWD"), "KWD\u00a00.005");
    assert.equal(formatMoney(-5n, "EUR"), "-€0.05");
    assert.equal(formatMoney(0n, "EUR"), "€0.00");
    assert.equal(formatMoney(12345n, "HUF"), "HUF\u00a0123.45"); // ICU says 0 digits, ISO 4217 says 2
    assert.equal(formatMoney(9223372036854775807n, "EUR"), "€92,233,720,368,547,758.07");
    assert.equal(formatMoney(-9223372036854775808n, "JPY"), "-¥9,223,372,036,854,775,808");
  });

  it("formats VAT rates in basis points", () => {
    assert.equal(formatRate(1900), "19%");
    assert.equal(formatRate(750), "7.5%");
    assert.equal(formatRate(550), "5.5%");
    assert.equal(formatRate(5), "0.05%");
    assert.equal(formatRate(0), "0%");
  });
});

describe("invoice documents", () => {
  let docs: Awaited<ReturnType<typeof renderInvoiceDocuments>> = [];
  before(async () => {
    docs = await renderInvoiceDocuments(sample);
  });
  const total = formatMoney(sample.totalMinor, "EUR");
  const expected = ["4711", "FR12345678901", "DE123456789", ...sample.lines.map((l) => l.description), total, "2026-04-30"];

  it("renders a PDF and a DOCX", () => {
    assert.deepEqual(
      docs.map((d) => d.format),
      [DocumentFormat.PDF, DocumentFormat.DOCX],
    );
    assert.equal(total, "€21,519.62");
  });

  it("renders a PDF with every value in its text", async () => {
    const pdf = docs.find((d) => d.format === DocumentFormat.PDF)!;
    assert.equal(new TextDecoder().decode(pdf.content.subarray(0, 5)), "%PDF-");
    const { text } = await pdfText(pdf.content);
    for (const value of expected) assert.ok(text.includes(squash(value)), `PDF text lacks ${value}`);
  });

  it("renders a DOCX whose document.xml holds every value in a single run", () => {
    const docx = docs.find((d) => d.format === DocumentFormat.DOCX)!;
    const runs = docxRuns(docx.content);
    for (const value of expected)
      assert.ok(
        runs.some((r) => r.includes(xmlEscape(value))),
        `document.xml lacks ${value}`,
      );
  });

  it("breaks pages for many lines and keeps every line", async () => {
    const many = invoice(
      Array.from({ length: 120 }, (_, i) => ({
        description: i % 10 === 0 ? `${longDescription} #${i + 1}` : `Item #${i + 1}`,
        quantity: BigInt(i + 1),
        unitPriceMinor: 1_000n,
        vatRateBp: i % 2 ? 1900 : 700,
      })),
    );
    const [bigPdf] = await renderInvoiceDocuments(many);
    const { totalPages, text } = await pdfText(bigPdf!.content);
    assert.ok(totalPages > 2, `expected several pages, got ${totalPages}`);
    for (const line of many.lines) assert.ok(text.includes(squash(line.description)), line.description);
    assert.ok(text.includes(formatMoney(many.totalMinor, "EUR")));
  });

  it("prints Latin Extended, Greek and Cyrillic exactly and characters without a glyph as ?", async () => {
    const cjk = "請求書サービス";
    const intl = invoice(
      [
        { description: "Услуги по разработке", quantity: 2n, unitPriceMinor: 10_000n, vatRateBp: 2000 },
        { description: "Υπηρεσίες συμβούλου", quantity: 1n, unitPriceMinor: 25_000n, vatRateBp: 2400 },
        { description: `Čeština, Ελληνικά, ${cjk}`, quantity: 1n, unitPriceMinor: 100n, vatRateBp: 2100 },
      ],
      {
        seller: {
          name: "Łódź Spółka z o.o.",
          vatId: "PL5260001246",
          address: { street: "ul. Piotrkowska 104", city: "Łódź", postalCode: "90-001", countryCode: "PL" },
        },
        buyer: { name: "ООО «Ромашка»", address: { street: "Οδός Ερμού 12", city: "Αθήνα", postalCode: "105 63", countryCode: "GR" } },
      },
    );
    const [pdf, docx] = await renderInvoiceDocuments(intl);
    const { text } = await pdfText(pdf!.content);
    const runs = docxRuns(docx!.content);
    const exact = [
      "Łódź Spółka z o.o.",
      "90-001 Łódź",
      "ООО «Ромашка»",
      "Οδός Ερμού 12",
      "105 63 Αθήνα",
      "Услуги по разработке",
      "Υπηρεσίες συμβούλου",
    ];
    for (const value of [...exact, formatMoney(intl.totalMinor, "EUR")]) {
      assert.ok(text.includes(value), `PDF text lacks ${value}`);
      assert.ok(
        runs.some((r) => r.includes(xmlEscape(value))),
        `document.xml lacks ${value}`,
      );
    }
    assert.ok(text.includes(`Čeština, Ελληνικά, ${"?".repeat(cjk.length)}`), "CJK without a glyph should print as ?");
    assert.ok(!text.includes(cjk));
    assert.ok(
      runs.some((r) => r.includes(`Čeština, Ελληνικά, ${cjk}`)),
      "document.xml keeps CJK text",
    );
  });

  it("wraps words wider than their column instead of overflowing", async () => {
    const word = "Rindfleischetikettierungsüberwachungsaufgabenübertragungsgesetz";
    const [pdf] = await renderInvoiceDocuments(
      invoice([{ description: `${word}${word}`, quantity: 1n, unitPriceMinor: 100n, vatRateBp: 0 }]),
    );
    const { text } = await pdfText(pdf!.content);
    assert.ok(!text.includes(word + word), "expected the word to be broken across lines");
    assert.ok(text.replace(/ /g, "").includes(word + word));
  });

  it("renders byte-identical PDFs whatever was rendered before", async () => {
    // Text whose glyphs a font shared between documents could carry into the next one: a ligature
    // after its presentation form ("ﬁ", then "fi" in "findings", as in the sample), letters drawn
    // from other glyphs (Ö from O, Ą from A), Greek, and a dotless and a dotted i.
    const other = invoice([{ description: "ﬁ ﬃ, all findings and ı i̇ Ωμέγα Ω ÖĄ", quantity: 1n, unitPriceMinor: 1n, vatRateBp: 0 }]);
    // Each invoice first in a fresh worker, and after the other one.
    const [[sampleFirst, otherAfter], [otherFirst, sampleAfter]] = await Promise.all([
      renderPdfsInFreshWorker([sample, other]),
      renderPdfsInFreshWorker([other, sample]),
    ]);
    const first = docs.find((d) => d.format === DocumentFormat.PDF)!.content;
    const [otherHere] = await renderInvoiceDocuments(other);
    const [again] = await renderInvoiceDocuments(sample);
    const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(b);
    assert.ok(same(sampleAfter!, sampleFirst!), "the sample's PDF differs when another invoice was rendered before it");
    assert.ok(same(otherAfter!, otherFirst!), "the other invoice's PDF differs when the sample was rendered before it");
    assert.ok(same(first, sampleFirst!) && same(again!.content, first), "PDF output is not reproducible");
    assert.ok(same(otherHere!.content, otherFirst!), "PDF output is not reproducible");
  });

  it("writes a DOCX whose parts are the ones the docx library writes for the same document", async () => {
    const edge = invoice(
      [
        { description: "", quantity: 1n, unitPriceMinor: 1n, vatRateBp: 0 },
        { description: "Two\nlines & <tags> \"quoted\" 'single'\tand a tab", quantity: 2n, unitPriceMinor: 3n, vatRateBp: 700 },
        { description: "Control \u0001\u001f characters, 😀 and 請求書", quantity: 1n, unitPriceMinor: 5n, vatRateBp: 1900 },
      ],
      { buyer: undefined },
    );
    edge.note = "First line\n\nThird line";
    const noLines = invoice([]);
    noLines.note = "";
    for (const inv of [sample, edge, noLines]) {
      const ours = unzipSync(await renderInvoiceDocx(inv));
      const theirs = unzipSync(await docxLibraryRendering(inv));
      assert.deepEqual(Object.keys(ours), Object.keys(theirs));
      for (const [path, data] of Object.entries(theirs)) {
        // core.xml holds the time of rendering.
        const text = (d: Uint8Array) => new TextDecoder().decode(d).replace(/(<dcterms:(?:created|modified)\b[^>]*>)[^<]*/g, "$1");
        assert.equal(text(ours[path]!), text(data), `${path} of invoice ${inv.lines.length} lines`);
      }
    }
  });
});

describe("words wider than their column", () => {
  it("break into lines that keep every character of a 500-letter word, on as many pages as they need", async () => {
    const { totalPages, text } = await pdfText(await renderInvoicePdf(heavy));
    const letters = text.replace(/\s+/g, "");
    let from = 0;
    for (const line of heavy.lines) {
      const at = letters.indexOf(line.description, from);
      assert.ok(at >= 0, `PDF text lacks line ${line.description.slice(0, 20)}… (in order, unbroken once spaces are removed)`);
      from = at + line.description.length;
    }
    // Each line's 500 letters take about 16 lines of its column, so a page holds about 4 of them.
    assert.ok(totalPages >= 20 && totalPages <= 40, `expected 20 to 40 pages, got ${totalPages}`);
  });

  it("are measured in linear time: 8 times the letters, at most 10 times the text measured", async () => {
    // pdfkit measured the whole rest of a word for every line it broke off: 64 times the text here.
    const measured = async (length: number) => {
      const [word] = unbreakableWords(1, length);
      const documents = PDFDocument.prototype as PDFKit.PDFDocument;
      const widthOfString = documents.widthOfString;
      let chars = 0;
      documents.widthOfString = function (this: PDFKit.PDFDocument, text: string, options?: PDFKit.Mixins.TextOptions) {
        chars += text.length;
        return widthOfString.call(this, text, options);
      };
      try {
        await renderInvoicePdf(invoice([{ description: word!, quantity: 1n, unitPriceMinor: 1n, vatRateBp: 0 }]));
      } finally {
        documents.widthOfString = widthOfString;
      }
      return chars;
    };
    const [short, long] = [await measured(2_000), await measured(16_000)];
    assert.ok(long <= 10 * short, `2,000 letters measured ${short} characters, 16,000 letters ${long}`);
  });
});

describe("DOCX text", () => {
  it("drops the characters XML 1.0 forbids (U+FFFE, U+FFFF, lone surrogates) wherever text goes", async () => {
    const forbidden = "A\uFFFEB\uFFFFC\uD800D\uDC00E";
    const inv = invoice([{ description: `Service ${forbidden} 😀`, quantity: 1n, unitPriceMinor: 1n, vatRateBp: 0 }], {
      seller: { name: `Seller ${forbidden}`, address: { street: "Hauptstraße 1", city: "Berlin", postalCode: "10115", countryCode: "DE" } },
    });
    inv.note = `Note ${forbidden}`;
    const parts = unzipSync(await renderInvoiceDocx(inv));
    for (const path of ["word/document.xml", "docProps/core.xml"]) {
      // A fatal decoder also fails on what a lone surrogate becomes in UTF-8 when the encoder does not replace it.
      const xml = new TextDecoder("utf-8", { fatal: true }).decode(parts[path]);
      // Outside XML 1.0's Char production (U+FFFD too: it is what an encoder makes of a lone surrogate).
      const notXmlChar = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFD-\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
      assert.doesNotMatch(xml, notXmlChar, `${path} holds a character XML 1.0 forbids`);
    }
    const runs = docxRuns(await renderInvoiceDocx(inv));
    for (const value of ["Service ABCDE 😀", "Seller ABCDE", "Note ABCDE"]) assert.ok(runs.includes(value), `document.xml lacks ${value}`);
  });
});

describe("render pool", () => {
  let pool: RenderPool;
  before(() => {
    pool = createRenderPool({ workers: 2, timeoutMs: 30_000 });
  });
  after(() => pool.close());

  it("renders an invoice's PDF and DOCX on a worker thread, the PDF byte for byte as this thread does", async () => {
    const docs = await pool.render(sample);
    assert.deepEqual(
      docs.map((d) => d.format),
      [DocumentFormat.PDF, DocumentFormat.DOCX],
    );
    const [pdf, docx] = docs.map((d) => d.content);
    assert.ok(pdf instanceof Uint8Array && docx instanceof Uint8Array);
    assert.equal(Buffer.from(pdf.subarray(0, 5)).toString("latin1"), "%PDF-");
    assert.equal(Buffer.from(docx.subarray(0, 4)).toString("latin1"), "PK\x03\x04");
    assert.ok(Buffer.from(pdf).equals(await renderInvoicePdf(sample)), "the worker's PDF differs from this thread's");
    assert.ok(docxRuns(docx).includes(xmlEscape(longDescription)));
  });

  it("keeps this thread's event loop running while it renders a heavy invoice", async () => {
    let ticks = 0;
    const ticking = setInterval(() => ticks++, 5);
    const started = performance.now();
    try {
      const [pdf] = await pool.render(heavy);
      assert.equal(Buffer.from(pdf!.content.subarray(0, 5)).toString("latin1"), "%PDF-");
    } finally {
      clearInterval(ticking);
    }
    // A render on this thread would let the interval run at most once or twice, after it.
    assert.ok(ticks >= 5, `${ticks} ticks of a 5 ms interval in ${Math.round(performance.now() - started)} ms of rendering`);
  });

  it(
    "stops a render that takes longer than its time bound with RenderTimeoutError, and renders the next invoice",
    { timeout: 30_000 },
    async (t) => {
      const dir = mkdtempSync(join(tmpdir(), "invoicer-render-"));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      const workerFile = writeStallingWorker(dir);
      // 5 s: the bound must also hold the next render, the first in a fresh worker, on a busy CI machine
      // (1 s did not: a fresh worker's first render once took longer while other test files ran).
      const stalling = createRenderPool({ workers: 1, timeoutMs: 5_000, workerFile: pathToFileURL(workerFile) });
      t.after(() => stalling.close());
      const stuck = invoice([{ description: "Hangs", quantity: 1n, unitPriceMinor: 1n, vatRateBp: 0 }]);
      stuck.id = "stall-this-render";
      await assert.rejects(stalling.render(stuck), (err: Error) => {
        assert.ok(err instanceof RenderTimeoutError, `expected a RenderTimeoutError, got ${err}`);
        assert.match(err.message, /took longer than 5000 ms/);
        return true;
      });
      // The one worker was terminated; the pool renders the next invoice on a new one.
      const [pdf] = await stalling.render(sample);
      assert.ok(Buffer.from(pdf!.content).equals(await renderInvoicePdf(sample)));
    },
  );
});

/** A render worker that renders as the real one does, but never finishes an invoice whose id says so. */
function writeStallingWorker(dir: string): string {
  const workerFile = join(dir, "stalling-worker.mjs");
  writeFileSync(
    workerFile,
    `
      import renderTask from ${JSON.stringify(new URL("../../consumer/src/render/worker.ts", import.meta.url).href)};
      export default function (task) {
        const rendered = renderTask(task);
        if (Buffer.from(task.invoice).includes("stall-this-render")) for (;;);
        return rendered;
      }`,
  );
  return workerFile;
}

/** Renders PDFs one after another in a new worker thread, which has modules, and so fonts, of its own. */
async function renderPdfsInFreshWorker(invoices: Invoice[]): Promise<Uint8Array[]> {
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    (async () => {
      (await import(workerData.tsx)).register(); // tsx's loader, which this thread has, for .ts modules
      const { renderInvoicePdf } = await import(workerData.pdf);
      const pdfs = [];
      for (const invoice of workerData.invoices) pdfs.push(await renderInvoicePdf(invoice));
      parentPort.postMessage(pdfs);
    })();`;
  const worker = new Worker(code, {
    eval: true,
    workerData: {
      tsx: import.meta.resolve("tsx/esm/api"),
      pdf: new URL("../../consumer/src/render/pdf.ts", import.meta.url).href,
      invoices,
    },
  });
  try {
    return await new Promise<Uint8Array[]>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
      worker.once("exit", (code) => reject(new Error(`worker exited with code ${code}`)));
    });
  } finally {
    await worker.terminate();
  }
}

/** The invoice's DOCX as the docx library writes it from its object model, as the renderer once made it. */
function docxLibraryRendering(invoice: Invoice): Promise<Buffer> {
  const t = invoiceText(invoice);
  type Align = "left" | "right";
  const heading = (text: string) => new Paragraph({ heading: HeadingLevel.HEADING_3, children: [new TextRun(text)] });
  const para = (text: string, bold = false, align: Align = "left") =>
    new Paragraph({ alignment: align === "right" ? AlignmentType.RIGHT : AlignmentType.LEFT, children: [new TextRun({ text, bold })] });
  const table = (header: string[], rows: string[][], align: Align[], boldFirst = false) => {
    const row = (cells: string[], isHeader: boolean) =>
      new TableRow({
        tableHeader: isHeader,
        children: cells.map(
          (c, i) => new TableCell({ children: c.split("\n").map((s) => para(s, isHeader || (boldFirst && i === 0), align[i])) }),
        ),
      });
    return new Table({
      width: { size: 100, type: WidthType.PERCENTAGE },
      rows: [...(header.length > 0 ? [row(header, true)] : []), ...rows.map((r) => row(r, false))],
    });
  };
  return Packer.toBuffer(
    new Document({
      title: t.title,
      creator: "invoicer",
      styles: { default: { document: { run: { font: "Arial", size: 18 } } } },
      sections: [
        {
          properties: { page: { size: { width: 11906, height: 16838 } } },
          children: [
            new Paragraph({ heading: HeadingLevel.HEADING_1, children: [new TextRun(t.title)] }),
            table([], t.details, ["left", "left"], true),
            heading("Seller"),
            ...t.seller.map((s) => para(s)),
            heading("Buyer"),
            ...t.buyer.map((s) => para(s)),
            heading("Lines"),
            table(t.lineHeader, t.lines, ["right", "left", "right", "right", "right", "right"]),
            heading("VAT breakdown"),
            table(t.vatHeader, t.vat, ["right", "right", "right", "right"]),
            heading("Totals"),
            table([], t.totals, ["right", "right"], true),
            ...(t.note ? [heading("Note"), ...t.note.split("\n").map((s) => para(s))] : []),
          ],
        },
      ],
    }),
  );
}

describe("render pool with e-invoice formats", () => {
  let xmlPool: RenderPool;
  before(() => {
    xmlPool = createRenderPool({ workers: 1, timeoutMs: 30_000 });
  });
  after(() => xmlPool.close());

  it("renders every XML format an invoice's profiles allow on a worker thread, as this thread does", async () => {
    const [full] = invoiceSamples();
    const docs = await xmlPool.render(full!.invoice);
    assert.deepEqual(
      docs.map((d) => d.format),
      [DocumentFormat.PDF, DocumentFormat.DOCX, DocumentFormat.XRECHNUNG_UBL, DocumentFormat.XRECHNUNG_CII, DocumentFormat.PEPPOL_UBL],
    );
    const here = await renderInvoiceDocuments(full!.invoice);
    for (const [i, d] of docs.entries()) {
      if (d.format === DocumentFormat.DOCX) continue; // the DOCX's zip carries its own timestamps
      assert.ok(Buffer.from(d.content).equals(Buffer.from(here[i]!.content)), DocumentFormat[d.format]);
    }
  });
});
