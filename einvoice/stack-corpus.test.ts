// The e-invoice corpus generated through the running system: each sample invoice is created over the API, the
// consumer renders it, and every document downloaded from the gateway goes through the independent validators.
// Each profile gap the validators name (rejectedSamples) is answered FailedPrecondition with the same rule id.
// Each sample invoice is then credited through CreateCreditNote (in full, or its first line), and the credit notes'
// documents go through the same validators.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { clone, create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  CreateInvoiceRequestSchema,
  DocumentFormat,
  DocumentType,
  LineInputSchema,
  PreconditionFailureSchema,
  type CreateInvoiceRequest,
  type InvoiceLine,
} from "@invoicer/sdk";
import { invoiceSamples, rejectedSamples } from "../test/support/einvoice-samples.ts";
import { watchInvoices } from "../test/support/events.ts";
import { startStack, type Stack } from "../test/support/stack.ts";
import { validateDocuments, type DocumentKind, type EInvoiceDocument } from "./validate.ts";

/** Each downloadable format the validators check, with the kinds an invoice and a credit note of it must pass. */
const checked: [DocumentFormat, string, DocumentKind[], DocumentKind[]][] = [
  [DocumentFormat.PDF, "pdf", ["factur-x-pdf"], ["factur-x-pdf"]],
  [
    DocumentFormat.XRECHNUNG_UBL,
    "xml",
    ["xrechnung-ubl-invoice", "en16931-ubl-invoice"],
    ["xrechnung-ubl-creditnote", "en16931-ubl-creditnote"],
  ],
  [DocumentFormat.XRECHNUNG_CII, "xml", ["xrechnung-cii"], ["xrechnung-cii"]],
  [DocumentFormat.PEPPOL_UBL, "xml", ["peppol-ubl-invoice"], ["peppol-ubl-creditnote"]],
];
const formatOf = {
  xrechnungUbl: DocumentFormat.XRECHNUNG_UBL,
  xrechnungCii: DocumentFormat.XRECHNUNG_CII,
  peppolUbl: DocumentFormat.PEPPOL_UBL,
};

const folder = mkdtempSync(join(tmpdir(), "einvoice-stack-"));
let stack: Stack;
before(async () => {
  stack = await startStack({}, {});
});
after(async () => {
  await stack.close();
  rmSync(folder, { recursive: true, force: true });
});

/** An issued line as a request line, to credit it (as creditedRequest maps the invoice's own lines). */
const lineInputOf = ({ netMinor: _, $typeName: __, ...line }: InvoiceLine) => create(LineInputSchema, line);

const asNew = (request: CreateInvoiceRequest, name: string) =>
  Object.assign(clone(CreateInvoiceRequestSchema, request), { idempotencyKey: `stack-corpus-${name}-${process.pid}-${Date.now()}` });

describe("the e-invoice corpus through the running system", { timeout: 15 * 60_000 }, () => {
  it("downloads every format of every sample invoice and of its credit note, and the validators find no error", async () => {
    const client = stack.client(stack.tenantA);
    const watch = await watchInvoices(client);
    const invoices = await Promise.all(
      invoiceSamples().map(async (s) => ({ name: s.name, invoice: (await client.createInvoice(asNew(s.request, s.name))).invoice! })),
    );
    // In full, or (every other sample) its first line only.
    const creditNotes = await Promise.all(
      invoices.map(async ({ name, invoice }, n) => {
        const lines = n % 2 === 0 ? [] : [lineInputOf(invoice.lines[0]!)];
        const request = {
          idempotencyKey: `stack-corpus-${name}-credit-${process.pid}-${Date.now()}`,
          invoiceId: invoice.id,
          lines,
          reason: "Returned",
        };
        return { name: `${name}-credit-note`, invoice: (await client.createCreditNote(request)).creditNote! };
      }),
    );
    const created = [...invoices, ...creditNotes];
    const ids = new Set(created.map((c) => c.invoice.id));
    await watch.until(
      (es) => ids.size === new Set(es.filter((e) => e.kind.case === "documentReady" && ids.has(e.invoiceId)).map((e) => e.invoiceId)).size,
    );
    watch.close();
    const documents: EInvoiceDocument[] = [];
    for (const { name, invoice } of created) {
      for (const [format, extension, invoiceKinds, creditNoteKinds] of checked) {
        const document = await client.getInvoiceDocument({ id: invoice.id, format });
        assert.equal(document.sha256, createHash("sha256").update(document.content).digest("hex"), `${name} ${DocumentFormat[format]}`);
        const path = join(folder, `${name}.${DocumentFormat[format]}.${extension}`);
        writeFileSync(path, document.content);
        const kinds = invoice.documentType === DocumentType.CREDIT_NOTE ? creditNoteKinds : invoiceKinds;
        documents.push(...kinds.map((kind) => ({ path, kind })));
      }
    }
    const results = await validateDocuments(documents);
    const errors = results.flatMap((r) => r.errors.map((e) => `${r.kind} ${r.path}: ${e.rule} ${e.message}`));
    const versions = [...new Set(results.map((r) => r.validator))].join("; ");
    console.log(
      `e-invoice corpus through the stack: ${invoices.length} invoices, ${creditNotes.length} credit notes, ${documents.length} checks, ${errors.length} errors; ${versions}`,
    );
    assert.deepEqual(errors, []);
  });

  it("answers each profile gap the validators name with FailedPrecondition naming the same rule", async () => {
    const client = stack.client(stack.tenantA);
    const profileGaps = rejectedSamples().filter((s) => Object.values(s.rules).some((rule) => /^(?:BR-DE-|DE-R-|PEPPOL-)/.test(rule)));
    for (const s of profileGaps) {
      const { invoice } = await client.createInvoice(asNew(s.request, s.name));
      for (const [writer, rule] of Object.entries(s.rules)) {
        const format = formatOf[writer as keyof typeof formatOf];
        if (format === undefined) continue;
        const err = ConnectError.from(await client.getInvoiceDocument({ id: invoice!.id, format }).catch((e: unknown) => e));
        assert.equal(err.code, Code.FailedPrecondition, `${s.name} ${writer}`);
        const types = err.findDetails(PreconditionFailureSchema).flatMap((p) => p.violations.map((v) => v.type));
        assert.ok(types.includes(rule), `${s.name} ${writer}: expected ${rule}, got ${types.join(", ")}`);
      }
    }
  });
});
