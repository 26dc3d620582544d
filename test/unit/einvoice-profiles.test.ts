// The profile check (platform/src/einvoice-profiles.ts) against the samples the validators judge (einvoice/corpus.test.ts):
// every valid sample meets every XML format, and each rejected sample misses exactly the profile rule the validator names.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DocumentFormat } from "@invoicer/sdk";
import { formatGaps } from "@invoicer/platform/einvoice-profiles";
import { peppolIdentifierRules } from "@invoicer/platform/peppol-identifiers";
import { documentedInvoice } from "@invoicer/devstack/samples";
import { validateCreateInvoice } from "../../server/src/domain/validate-invoice.ts";
import { allSamples, invoiceOf, invoiceSamples, rejectedSamples } from "../support/einvoice-samples.ts";
import { create } from "@bufbuild/protobuf";
import { CreateInvoiceRequestSchema } from "@invoicer/sdk";

const xmlFormats = [
  [DocumentFormat.XRECHNUNG_UBL, "xrechnungUbl"],
  [DocumentFormat.XRECHNUNG_CII, "xrechnungCii"],
  [DocumentFormat.PEPPOL_UBL, "peppolUbl"],
] as const;
/** A rule of a profile, not of EN 16931 itself (those CreateInvoice refuses). */
const isProfileRule = (rule: string) => /^(?:BR-DE-|DE-R-|PEPPOL-)/.test(rule);

describe("e-invoice profiles", () => {
  it("finds nothing missing in the bench's documented invoice, which CreateInvoice accepts, in any XML format", () => {
    const request = documentedInvoice();
    assert.deepEqual(validateCreateInvoice(request), []);
    for (const [format] of xmlFormats) assert.deepEqual(formatGaps(invoiceOf(request, 1n), format), [], DocumentFormat[format]);
  });

  it("finds nothing missing in any sample the validators accept, in any XML format", () => {
    for (const s of allSamples()) for (const [format] of xmlFormats) assert.deepEqual(formatGaps(s.invoice, format), [], s.name);
  });

  it("names, for each rejected sample, exactly the profile rule the format's validator names", () => {
    for (const s of rejectedSamples()) {
      for (const [format, writer] of xmlFormats) {
        const rule = s.rules[writer];
        const expected = rule && isProfileRule(rule) ? [rule] : [];
        assert.deepEqual(
          formatGaps(s.invoice, format).map((g) => g.rule),
          expected,
          `${s.name} as ${DocumentFormat[format]}`,
        );
      }
    }
  });

  it("names the field and business term of a missing buyer reference", () => {
    const [standard] = invoiceSamples();
    const request = create(CreateInvoiceRequestSchema, { ...standard!.request, buyerReference: "" });
    const [gap] = formatGaps(invoiceOf(request, 1n), DocumentFormat.XRECHNUNG_CII);
    assert.equal(gap?.field, "buyer_reference");
    assert.equal(gap?.rule, "BR-DE-15");
    assert.match(gap!.description, /BT-10/);
  });

  it("asks nothing of the PDF and the DOCX", () => {
    const [standard] = invoiceSamples();
    const request = create(CreateInvoiceRequestSchema, { ...standard!.request, buyerReference: "", payment: undefined });
    for (const format of [DocumentFormat.PDF, DocumentFormat.DOCX]) assert.deepEqual(formatGaps(invoiceOf(request, 1n), format), []);
  });

  it("cannot write an amount with more than 2 decimals in any XML format (BR-DEC-09)", () => {
    const [standard] = invoiceSamples();
    const kwd = invoiceOf(create(CreateInvoiceRequestSchema, { ...standard!.request, currencyCode: "KWD" }), 1n);
    for (const [format] of xmlFormats)
      assert.ok(formatGaps(kwd, format).some((g) => g.rule === "BR-DEC-09" && g.field === "currency_code"));
  });
});

describe("Peppol identifier checks", () => {
  it("accepts a well-formed identifier of each Peppol scheme that has a check, and refuses one with a changed check digit", () => {
    const wellFormed: Record<string, string> = {
      "0088": "4000001000012",
      "0192": "923609016",
      "0184": "DK12345678",
      "0096": "1234567890",
      "0198": "DK12345678",
      "0208": "0123456749",
      "0007": "5560360793",
      "0151": "51824753556",
    };
    assert.deepEqual(Object.keys(wellFormed).sort(), Object.keys(peppolIdentifierRules).sort());
    for (const [scheme, id] of Object.entries(wellFormed)) assert.ok(peppolIdentifierRules[scheme]!.valid(id), `${scheme} ${id}`);
    for (const [scheme, id] of [
      ["0088", "4000001000013"],
      ["0192", "923609017"],
      ["0208", "0123456748"],
      ["0007", "5560360794"],
    ])
      assert.ok(!peppolIdentifierRules[scheme!]!.valid(id!), `${scheme} ${id}`);
  });
});
