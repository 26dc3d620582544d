// What makes the invoice PDF a Factur-X / ZUGFeRD EN 16931 invoice (Factur-X 1.07.2, ZUGFeRD 2.3): the
// EN 16931 CII embedded as factur-x.xml, and the Factur-X extension schema in the PDF/A-3 XMP metadata.
import { eInvoiceOf, eInvoiceWriters, type EInvoiceExtras } from "./einvoice/index.ts";
import type { Invoice } from "@invoicer/sdk";

export const facturXFileName = "factur-x.xml";

/**
 * The Factur-X CII of the invoice, or undefined when EN 16931 cannot express it: the writers refuse
 * (RangeError) amounts with more than 2 decimals (KWD, BHD, ...) and characters XML 1.0 cannot hold,
 * which the API accepts today; such an invoice's PDF stays a PDF/A-3b without the XML.
 */
export function facturXOf(invoice: Invoice, extras: EInvoiceExtras = {}): string | undefined {
  try {
    return eInvoiceWriters.facturXCii(eInvoiceOf(invoice, extras));
  } catch (e) {
    if (e instanceof RangeError) return undefined;
    throw e;
  }
}

/**
 * Embeds the CII as an associated file of the document (the catalog's AF array, which pdfkit's
 * `file` keeps, and its EmbeddedFiles name tree) and declares it in the XMP metadata.
 * `date` is the file's creation and modification date, so that the PDF stays reproducible.
 */
export function embedFacturX(doc: PDFKit.PDFDocument, xml: string, date: Date | undefined) {
  // pdfkit 0.20 takes the AFRelationship as `relationship`, which its types do not list yet.
  const options: PDFKit.Mixins.PDFAttachmentOptions & { relationship: string } = {
    name: facturXFileName,
    type: "text/xml",
    relationship: "Alternative", // the XML is the invoice itself (Factur-X: Alternative for EN 16931)
    description: "Factur-X / ZUGFeRD EN 16931 invoice",
    ...(date && { creationDate: date, modifiedDate: date }),
  };
  doc.file(Buffer.from(xml, "utf8"), options);
  doc.appendXML(facturXMetadata);
}

/** The fx: properties and, as PDF/A requires for a schema outside XMP's own, its pdfaExtension description. */
const facturXMetadata = `
        <rdf:Description rdf:about="" xmlns:fx="urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#">
            <fx:DocumentType>INVOICE</fx:DocumentType>
            <fx:DocumentFileName>${facturXFileName}</fx:DocumentFileName>
            <fx:Version>1.0</fx:Version>
            <fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>
        </rdf:Description>
        <rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"
            xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">
            <pdfaExtension:schemas>
                <rdf:Bag>
                    <rdf:li rdf:parseType="Resource">
                        <pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>
                        <pdfaSchema:namespaceURI>urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#</pdfaSchema:namespaceURI>
                        <pdfaSchema:prefix>fx</pdfaSchema:prefix>
                        <pdfaSchema:property>
                            <rdf:Seq>
${[
  ["DocumentFileName", "The name of the embedded XML document"],
  ["DocumentType", "The type of the hybrid document in capital letters, e.g. INVOICE or ORDER"],
  ["Version", "The actual version of the standard applying to the embedded XML document"],
  ["ConformanceLevel", "The conformance level of the embedded XML document"],
]
  .map(
    ([name, description]) => `                                <rdf:li rdf:parseType="Resource">
                                    <pdfaProperty:name>${name}</pdfaProperty:name>
                                    <pdfaProperty:valueType>Text</pdfaProperty:valueType>
                                    <pdfaProperty:category>external</pdfaProperty:category>
                                    <pdfaProperty:description>${description}</pdfaProperty:description>
                                </rdf:li>`,
  )
  .join("\n")}
                            </rdf:Seq>
                        </pdfaSchema:property>
                    </rdf:li>
                </rdf:Bag>
            </pdfaExtension:schemas>
        </rdf:Description>`;
