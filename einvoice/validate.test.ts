// The independent validators accept the hand-written fixtures and reject each with one required element removed
// or checked as another kind, naming the rule; the runs are bounded.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  defaultLimits,
  installValidators,
  validateDocuments,
  type DocumentKind,
  type DocumentValidation,
  type EInvoiceDocument,
} from "./validate.ts";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
const scratch = mkdtempSync(join(tmpdir(), "einvoice-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of a fixture without the element that `removed` matches. */
function without(fixture: string, removed: RegExp, name: string): string {
  const xml = readFileSync(join(fixtures, fixture), "utf8");
  assert.match(xml, removed, `${fixture} has the element the test removes`);
  const path = join(scratch, name);
  writeFileSync(path, xml.replace(removed, ""));
  return path;
}

const rules = (result: DocumentValidation) => result.errors.map((e) => e.rule);

describe("independent e-invoice validators", { timeout: 15 * 60_000 }, () => {
  const valid: EInvoiceDocument[] = [
    { path: join(fixtures, "xrechnung-ubl-invoice.xml"), kind: "xrechnung-ubl-invoice" },
    { path: join(fixtures, "xrechnung-cii-invoice.xml"), kind: "xrechnung-cii" },
    { path: join(fixtures, "xrechnung-ubl-invoice.xml"), kind: "en16931-ubl-invoice" },
    { path: join(fixtures, "xrechnung-cii-invoice.xml"), kind: "en16931-cii" },
    { path: join(fixtures, "xrechnung-ubl-creditnote.xml"), kind: "xrechnung-ubl-creditnote" },
    { path: join(fixtures, "xrechnung-ubl-creditnote.xml"), kind: "en16931-ubl-creditnote" },
    { path: join(fixtures, "peppol-ubl-invoice.xml"), kind: "peppol-ubl-invoice" },
    { path: join(fixtures, "peppol-ubl-creditnote.xml"), kind: "peppol-ubl-creditnote" },
    { path: join(fixtures, "factur-x-invoice.pdf"), kind: "factur-x-pdf" },
    { path: join(fixtures, "factur-x-en16931-invoice.pdf"), kind: "factur-x-pdf" },
  ];
  // Mustang applies XRechnung's rules to a German seller's invoice of any profile: on the EN 16931 profile
  // its "should" rule BR-DE-21 (BT-24 should name XRechnung) warns.
  const expectedWarnings = (document: EInvoiceDocument) => (document.path.endsWith("factur-x-en16931-invoice.pdf") ? ["BR-DE-21"] : []);
  // Each fixture with one element removed, the kind it is validated as, and the rule its validator must name.
  const removals: [fixture: string, removed: RegExp, kind: DocumentKind, rule: string][] = [
    ["xrechnung-ubl-invoice.xml", /<cbc:BuyerReference>.*<\/cbc:BuyerReference>/, "xrechnung-ubl-invoice", "BR-DE-15"],
    ["xrechnung-cii-invoice.xml", /<ram:BuyerReference>.*<\/ram:BuyerReference>/, "xrechnung-cii", "BR-DE-15"],
    ["xrechnung-ubl-invoice.xml", /<cac:PaymentMeans>[\s\S]*<\/cac:PaymentMeans>/, "xrechnung-ubl-invoice", "BR-DE-1"],
    ["xrechnung-cii-invoice.xml", /<ram:DefinedTradeContact>[\s\S]*<\/ram:DefinedTradeContact>/, "xrechnung-cii", "BR-DE-2"],
    // The first Country is the seller's.
    ["xrechnung-ubl-invoice.xml", /<cac:Country>.*?<\/cac:Country>/, "en16931-ubl-invoice", "BR-09"],
    // UBL's schema itself requires an invoice line: the XSD check fails before any Schematron rule runs.
    ["xrechnung-ubl-invoice.xml", /<cac:InvoiceLine>[\s\S]*<\/cac:InvoiceLine>/, "en16931-ubl-invoice", "xsd"],
    ["xrechnung-ubl-creditnote.xml", /<cbc:CreditNoteTypeCode>.*<\/cbc:CreditNoteTypeCode>/, "xrechnung-ubl-creditnote", "BR-04"],
    // The first EndpointID is the seller's.
    ["peppol-ubl-invoice.xml", /<cbc:EndpointID.*?<\/cbc:EndpointID>/, "peppol-ubl-invoice", "PEPPOL-EN16931-R020"],
  ];
  // Whole fixtures that are invalid as the kind named.
  const mismatches: [fixture: string, kind: DocumentKind, rule: string][] = [
    // An XRechnung invoice is not a Peppol BIS one: its specification identifier (BT-24) differs.
    ["xrechnung-ubl-invoice.xml", "peppol-ubl-invoice", "PEPPOL-EN16931-R004"],
    // Mustang validates a bare CII file too: as a Factur-X document it must still fail, having no PDF/A to check.
    ["xrechnung-cii-invoice.xml", "factur-x-pdf", "not-a-pdf"],
    // A plain PDF: no PDF/A identification (ISO 19005 6.7.11), no embedded XML.
    ["not-pdfa.pdf", "factur-x-pdf", "ISO 19005-1:2005 6.7.11-1"],
    // Built from xrechnung-cii-invoice.xml without its BuyerReference (fixtures/README.md).
    ["factur-x-no-buyer-reference.pdf", "factur-x-pdf", "BR-DE-15"],
  ];
  const broken: { document: EInvoiceDocument; rule: string }[] = [];
  let results: DocumentValidation[] = [];

  before(async () => {
    await installValidators();
    removals.forEach(([fixture, removed, kind, rule], i) =>
      broken.push({ document: { path: without(fixture, removed, `${i}-${fixture}`), kind }, rule }),
    );
    for (const [fixture, kind, rule] of mismatches) broken.push({ document: { path: join(fixtures, fixture), kind }, rule });
    results = await validateDocuments([...valid, ...broken.map((b) => b.document)]);
    report(results);
  });

  it("accepts each valid fixture with no error and no warning but the expected", () => {
    for (const result of results.slice(0, valid.length)) {
      assert.deepEqual(result.errors, [], `${result.kind} ${result.path}`);
      assert.deepEqual(
        result.warnings.map((w) => w.rule),
        expectedWarnings(result),
        `${result.kind} ${result.path}`,
      );
    }
  });

  it("rejects each document with an element removed or of another kind, naming the rule", () => {
    results.slice(valid.length).forEach((result, i) => {
      assert.ok(rules(result).includes(broken[i]!.rule), `${result.path}: expected ${broken[i]!.rule}, got ${rules(result).join(", ")}`);
    });
  });

  it("reports the validator and rule set each document was checked with", () => {
    for (const result of results) {
      assert.match(result.validator, /^(phive \d+\.\d+\.\d+ \(phive-rules-\w+ \d+\.\d+\.\d+\)|Mustang \d+\.\d+\.\d+)$/);
      assert.ok(result.ruleSet.length > 0);
    }
  });
});

describe("validator output", { timeout: 5 * 60_000 }, () => {
  it("keeps non-ASCII text in messages and file names under the C locale, as CI may run", async () => {
    const saved = { LANG: process.env.LANG, LC_ALL: process.env.LC_ALL };
    Object.assign(process.env, { LANG: "C", LC_ALL: "C" });
    try {
      const [xml, pdf] = await validateDocuments([
        {
          path: without("xrechnung-cii-invoice.xml", /<ram:BuyerReference>.*<\/ram:BuyerReference>/, "rechnung-ü.xml"),
          kind: "xrechnung-cii",
        },
        { path: join(fixtures, "factur-x-no-buyer-reference.pdf"), kind: "factur-x-pdf" },
      ]);
      for (const result of [xml!, pdf!]) assert.match(result.errors[0]!.message, /muss übermittelt werden/, result.kind);
    } finally {
      for (const [name, value] of Object.entries(saved)) value === undefined ? delete process.env[name] : (process.env[name] = value);
    }
  });
});

describe("bounds of a validation run", { timeout: 5 * 60_000 }, () => {
  const invoice: EInvoiceDocument = { path: join(fixtures, "xrechnung-ubl-invoice.xml"), kind: "xrechnung-ubl-invoice" };

  it("stops the validator at its time bound", async () => {
    await assert.rejects(validateDocuments([invoice], { ...defaultLimits, xmlTimeoutMs: 500 }), { killed: true });
  });

  it("stops the validator at its output bound", async () => {
    const limits = { ...defaultLimits, maxOutputBytes: 16 };
    await assert.rejects(validateDocuments([invoice], limits), { code: "ERR_CHILD_PROCESS_STDIO_MAXBUFFER" });
  });

  it("refuses a document that is not there instead of passing it", async () => {
    const missing: EInvoiceDocument = { path: join(scratch, "missing.xml"), kind: "xrechnung-cii" };
    await assert.rejects(validateDocuments([missing]), /no such file/);
  });
});

/** Prints the counts and the validators' versions. */
function report(results: DocumentValidation[]): void {
  const line = (r: DocumentValidation) => `${r.validator} | ${r.ruleSet}`;
  const validators = [...new Set(results.map(line))].sort();
  const failed = results.filter((r) => r.errors.length > 0).length;
  process.stdout.write(`einvoice: ${results.length} documents validated, ${results.length - failed} valid, ${failed} with errors\n`);
  for (const v of validators) process.stdout.write(`einvoice: validator ${v}\n`);
}
