// Issue 31, "Every accepted character is printed": the API accepts in a text field only what the invoice PDF prints,
// and the PDF prints every such character as itself (decision 0039).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { InvoiceSchema, InvoiceStatus, PaymentInstructionsSchema, type CreateInvoiceRequest } from "@invoicer/sdk";
import { getDocumentProxy } from "unpdf";
import { sampleInvoice } from "@invoicer/devstack/samples";
import { codePointsBothFacesDraw, renderInvoicePdf } from "../../consumer/src/render/pdf.ts";
import { printableRanges } from "../../server/src/domain/printable-ranges.ts";
import { printableRangesOf } from "../../server/src/domain/printable-text.ts";
import { validateCreateInvoice } from "../../server/src/domain/validate-invoice.ts";
import { invoiceOf } from "../support/einvoice-samples.ts";

/** The PDF's text as its ToUnicode maps say, page by page; pdf.js would otherwise fold ligatures and the like. */
async function exactPdfText(pdf: Uint8Array): Promise<string> {
  const doc = await getDocumentProxy(pdf.slice()); // pdf.js may detach the buffer it is given
  let text = "";
  for (let page = 1; page <= doc.numPages; page++) {
    const content = await (await doc.getPage(page)).getTextContent({ disableNormalization: true });
    text += content.items.map((item) => ("str" in item ? item.str : "")).join(" ") + "\n";
  }
  return text;
}

const refusals = (req: CreateInvoiceRequest) => validateCreateInvoice(req).map((v) => `${v.field}: ${v.description}`);

function requestWith(change: (r: CreateInvoiceRequest) => void): CreateInvoiceRequest {
  const req = sampleInvoice();
  change(req);
  return req;
}

describe("text the invoice PDF cannot print", () => {
  const noGlyph = "the invoice PDF's fonts have no glyph for it";
  const rtl = "the invoice PDF cannot lay out right-to-left text";
  const invisible = "the invoice PDF does not show invisible formatting characters";
  const cases: Array<[what: string, change: (r: CreateInvoiceRequest) => void, refusal: string]> = [
    [
      "Han in a line description",
      (r) => (r.lines[1]!.description = "Beratung 漢字"),
      `lines[1].description: cannot print U+6F22 (漢): ${noGlyph}`,
    ],
    [
      "kana in the seller's city",
      (r) => (r.seller!.address!.city = "とうきょう"),
      `seller.address.city: cannot print U+3068 (と): ${noGlyph}`,
    ],
    ["Arabic in the buyer's name", (r) => (r.buyer!.name = "شركة المثال"), `buyer.name: cannot print U+0634 (ش): ${rtl}`],
    // DejaVu has Hebrew glyphs; pdfkit would still print its words left to right.
    ["Hebrew in a street", (r) => (r.buyer!.address!.street = "רחוב הרצל 1"), `buyer.address.street: cannot print U+05E8 (ר): ${rtl}`],
    ["an emoji DejaVu lacks in the note", (r) => (r.note = "Thanks 🚀"), `note: cannot print U+1F680 (🚀): ${noGlyph}`],
    ["an emoji variation selector", (r) => (r.note = "Thanks ☺\uFE0F"), `note: cannot print U+FE0F: ${invisible}`],
    ["a zero-width space in a name", (r) => (r.seller!.name = "Acme\u200BGmbH"), `seller.name: cannot print U+200B: ${invisible}`],
    ["a right-to-left override", (r) => (r.buyer!.address!.city = "\u202EParis"), `buyer.address.city: cannot print U+202E: ${invisible}`],
    ["a line separator in the note", (r) => (r.note = "one\u2028two"), `note: cannot print U+2028: ${invisible}`],
    [
      "a private-use character DejaVu draws",
      (r) => (r.lines[0]!.description = "Logo \uF6C5"),
      "lines[0].description: cannot print U+F6C5: private-use characters have no meaning the invoice PDF can print",
    ],
    ["Han in the order reference", (r) => (r.orderReference = "注文-1"), `order_reference: cannot print U+6CE8 (注): ${noGlyph}`],
    [
      "Han in the payment terms",
      (r) => (r.payment = create(PaymentInstructionsSchema, { meansCode: "58", iban: "DE89370400440532013000", terms: "30日以内" })),
      `payment.terms: cannot print U+65E5 (日): ${noGlyph}`,
    ],
  ];
  for (const [what, change, refusal] of cases) {
    it(`refuses ${what}, naming the field and the character`, () => {
      assert.deepEqual(refusals(requestWith(change)), [refusal]);
    });
  }

  it("accepts combining marks, emoji DejaVu draws and letters beyond the BMP, and tabs and line breaks where text is multiline", () => {
    const req = requestWith((r) => {
      r.seller!.name = "Cafe\u0301 Ñandú q\u0303"; // NFC makes é; q̃ stays a letter and a mark
      r.buyer!.name = "😀 𐌀𐌁𐌂 ℝ𝔸";
      r.note = "Line one\n\tindented ☕";
    });
    assert.deepEqual(refusals(req), []);
  });
});

describe("the printable code points", () => {
  it("are the ones both faces of the invoice PDF have a glyph for, less those refused (npm run generate:printable-ranges)", () => {
    assert.deepEqual(printableRanges, printableRangesOf(codePointsBothFacesDraw()));
  });

  it("are each printed as themselves: the PDF's text holds every character the API accepts", async () => {
    const accepted = printableRanges
      .flatMap(([first, last]) => Array.from({ length: last - first + 1 }, (_, i) => String.fromCodePoint(first + i)))
      .filter((c) => !/\s/u.test(c));
    assert.ok(accepted.length > 4_500, `only ${accepted.length} characters accepted`);
    // A mark on a letter, composed where NFC composes it, as the PDF prints it.
    const words = accepted.map((c) => (/\p{M}/u.test(c) ? `o${c}` : c).normalize("NFC"));
    const descriptions = Array.from({ length: Math.ceil(words.length / 50) }, (_, i) => words.slice(i * 50, i * 50 + 50).join(" "));
    const invoice = create(InvoiceSchema, {
      id: "0190f3a2-7c4e-7d21-9b1a-3f5e8c2d4a61",
      number: 1n,
      status: InvoiceStatus.ISSUED,
      currencyCode: "EUR",
      issueDate: "2026-12-01",
      lines: descriptions.map((description) => ({ description, quantity: 1n, unitPriceMinor: 1n, vatRateBp: 0, netMinor: 1n })),
    });
    const printed = new Set((await exactPdfText(await renderInvoicePdf(invoice))).split(/\s+/u));
    const missing = words.filter((w) => !printed.has(w));
    assert.deepEqual(
      missing.map((w) => [...w].map((c) => `U+${c.codePointAt(0)!.toString(16).toUpperCase()}`).join("+")),
      [],
    );
  });
});

describe("an invoice in every script the PDF prints", () => {
  it("is accepted, and its PDF's text holds each party's and line's text exactly", async () => {
    const texts = {
      sellerName: "Łódź Spółka z o.o. — Ærøskøbing ÅÄÖ ŐŰ ßẞ",
      sellerStreet: "Đường Lê Lợi 12, Quận 1", // Vietnamese: stacked diacritics
      buyerName: "ООО «Ромашка» — Українська Ґалерея — Београд",
      buyerStreet: "Οδός Ερμού 12, Αθήνα",
      buyerCity: "Թբիլիսի / თბილისი", // Armenian and Georgian
      lines: [
        "Μελέτη σκοπιμότητας",
        "Разработка ПО (второй этап)",
        "Ծրագրային ապահովում",
        "პროგრამული უზრუნველყოფა",
        "Ǆemal Ĳsselmeer ŉ ǅ",
      ],
    };
    const req = sampleInvoice({
      seller: {
        name: texts.sellerName,
        vatId: "PL5260001246",
        address: { street: texts.sellerStreet, city: "Łódź", postalCode: "90-001", countryCode: "PL" },
      },
      buyer: { name: texts.buyerName, address: { street: texts.buyerStreet, city: texts.buyerCity, countryCode: "GR" } },
      lines: texts.lines.map((description) => ({ description, quantity: 1n, unitPriceMinor: 1_000n, vatRateBp: 2300 })),
    });
    assert.deepEqual(refusals(req), []);
    const text = await exactPdfText(await renderInvoicePdf(invoiceOf(req, 1n)));
    const lines = text.split("\n").join(" ");
    for (const value of [texts.sellerName, texts.sellerStreet, texts.buyerName, texts.buyerStreet, texts.buyerCity, ...texts.lines]) {
      assert.ok(lines.includes(value), `PDF text lacks ${value}`);
    }
  });
});
