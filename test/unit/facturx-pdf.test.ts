// The invoice PDF as a Factur-X / ZUGFeRD EN 16931 PDF/A-3b: the CII it embeds, the XMP that declares it.
// Validity (veraPDF's PDF/A-3 check, the Factur-X Schematron) is Mustang's: npm run test:einvoice (einvoice/corpus.test.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clone } from "@bufbuild/protobuf";
import { InvoiceSchema } from "@invoicer/sdk";
import { DOMParser, type Element } from "@xmldom/xmldom";
import { getDocumentProxy } from "unpdf";
import { eInvoiceOf, eInvoiceWriters } from "../../consumer/src/render/einvoice/index.ts";
import { renderInvoicePdf } from "../../consumer/src/render/pdf.ts";
import { allSamples, invoiceSamples } from "../support/einvoice-samples.ts";

/** The PDF's embedded files by name; pdf.js may detach the buffer it is given, so it gets a copy. */
async function attachments(pdf: Uint8Array): Promise<Record<string, { content: Uint8Array }>> {
  return ((await (await getDocumentProxy(pdf.slice())).getAttachments()) ?? {}) as Record<string, { content: Uint8Array }>;
}

/** The document's XMP metadata (pdfkit writes its stream uncompressed), parsed, failing on any well-formedness error. */
function xmp(pdf: Uint8Array): Element {
  const text = new TextDecoder().decode(pdf);
  const xml = /<x:xmpmeta[\s\S]*<\/x:xmpmeta>/.exec(text)?.[0] ?? assert.fail("no XMP metadata");
  return new DOMParser({
    onError: (level, message) => {
      throw new Error(`${level}: ${message}`);
    },
  }).parseFromString(xml, "text/xml").documentElement!;
}
const property = (doc: Element, name: string) => Array.from(doc.getElementsByTagName(name)).map((e) => e.textContent);
const pdfSource = (pdf: Uint8Array) => new TextDecoder("latin1").decode(pdf);

describe("Factur-X PDF", () => {
  it("embeds each sample's Factur-X CII as factur-x.xml, equal to the CII writer's output, as its Alternative", async () => {
    for (const sample of allSamples()) {
      const pdf = await renderInvoicePdf(sample.invoice, sample.extras);
      const embedded = (await attachments(pdf))["factur-x.xml"] ?? assert.fail(`${sample.name}: no factur-x.xml`);
      const expected = eInvoiceWriters.facturXCii(eInvoiceOf(sample.invoice, sample.extras));
      assert.equal(new TextDecoder().decode(embedded.content), expected, sample.name);
      assert.match(pdfSource(pdf), /\/AFRelationship \/Alternative/, sample.name);
      assert.match(pdfSource(pdf), /\/Subtype \/text#2Fxml/, `${sample.name}: the embedded file's MIME type`);
      assert.match(pdfSource(pdf), /\/AF \[\d+ 0 R\]/, `${sample.name}: the catalog's associated files`);
    }
  });

  it("declares PDF/A-3b and Factur-X EN 16931 in well-formed XMP, with an sRGB output intent", async () => {
    const [sample] = invoiceSamples();
    const pdf = await renderInvoicePdf(sample!.invoice, sample!.extras);
    const metadata = xmp(pdf);
    assert.deepEqual(property(metadata, "pdfaid:part"), ["3"]);
    assert.deepEqual(property(metadata, "pdfaid:conformance"), ["B"]);
    assert.deepEqual(property(metadata, "fx:DocumentType"), ["INVOICE"]);
    assert.deepEqual(property(metadata, "fx:DocumentFileName"), ["factur-x.xml"]);
    assert.deepEqual(property(metadata, "fx:Version"), ["1.0"]);
    assert.deepEqual(property(metadata, "fx:ConformanceLevel"), ["EN 16931"]);
    assert.deepEqual(property(metadata, "pdfaSchema:prefix"), ["fx"]);
    assert.match(pdfSource(pdf), /^%PDF-1\.7/);
    assert.match(pdfSource(pdf), /\/S \/GTS_PDFA1\n\/Info \(sRGB IEC61966-2\.1\)/);
  });

  it("stays a PDF/A-3b, without factur-x.xml, for an invoice EN 16931 cannot express (3 decimals of KWD)", async () => {
    const [sample] = invoiceSamples();
    const invoice = clone(InvoiceSchema, sample!.invoice);
    invoice.currencyCode = "KWD";
    const pdf = await renderInvoicePdf(invoice, sample!.extras);
    assert.deepEqual(await attachments(pdf), {});
    assert.deepEqual(property(xmp(pdf), "pdfaid:part"), ["3"]);
    assert.deepEqual(property(xmp(pdf), "fx:DocumentType"), []);
  });
});
