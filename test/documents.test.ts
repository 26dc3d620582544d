// Every document format of an issued invoice through the running stack: rendered once by the consumer when
// its profile is met, archived with the SHA-256 of the stored bytes, downloadable over RPC and REST, never
// rendered again; a format whose profile the invoice misses is FailedPrecondition naming field and rule.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { clone } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  CreateInvoiceRequestSchema,
  DocumentFormat,
  ErrorInfoSchema,
  PreconditionFailureSchema,
  type CreateInvoiceRequest,
  type Invoice,
} from "@invoicer/sdk";
import { renderInvoiceDocuments } from "../consumer/src/render/index.ts";
import { readCloudEventHeaders } from "@invoicer/platform/cloudevents";
import { invoiceSamples } from "./support/einvoice-samples.ts";
import { committedOffset, eventually, produceRaw, readTopic, watchInvoices, type TopicReader } from "./support/events.ts";
import { startStack, type Stack } from "./support/stack.ts";

const brokers = () => process.env.TEST_KAFKA_BROKERS!.split(",");
/** Invoices with this note get XML that differs on every render, so a second render cannot go unnoticed. */
const probeNote = "redelivery probe";
let renders = 0;
let stack: Stack;
let topic: TopicReader;
before(async () => {
  stack = await startStack(
    {},
    {
      render: async (invoice) => {
        const documents = await renderInvoiceDocuments(invoice);
        if (invoice.note !== probeNote) return documents;
        renders++;
        const marker = new TextEncoder().encode(`<!-- render ${renders} -->\n`);
        return documents.map((d) =>
          d.format === DocumentFormat.PDF || d.format === DocumentFormat.DOCX ? d : { ...d, content: Buffer.concat([d.content, marker]) },
        );
      },
    },
  );
  topic = await readTopic(brokers(), stack.events!.topic);
});
after(async () => {
  await topic.close();
  await stack.close();
});

const allFormats = [
  [DocumentFormat.PDF, "pdf", "application/pdf", ".pdf"],
  [DocumentFormat.DOCX, "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"],
  [DocumentFormat.XRECHNUNG_UBL, "xrechnung-ubl", "application/xml", "-xrechnung-ubl.xml"],
  [DocumentFormat.XRECHNUNG_CII, "xrechnung-cii", "application/xml", "-xrechnung-cii.xml"],
  [DocumentFormat.PEPPOL_UBL, "peppol-ubl", "application/xml", "-peppol.xml"],
] as const;
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest();

/** A sample of the e-invoice corpus as a new request (its own idempotency key), changed by `change`. */
function sampleRequest(index: number, change: (r: CreateInvoiceRequest) => void = () => {}): CreateInvoiceRequest {
  const request = clone(CreateInvoiceRequestSchema, invoiceSamples()[index]!.request);
  request.idempotencyKey = `documents-${process.pid}-${Date.now()}-${Math.random()}`;
  change(request);
  return request;
}

/** Issues the invoice and waits until its documents are attached. */
async function issued(request: CreateInvoiceRequest): Promise<Invoice> {
  const client = stack.client(stack.tenantA);
  const watch = await watchInvoices(client);
  try {
    const { invoice } = await client.createInvoice(request);
    await watch.until((es) => es.some((e) => e.kind.case === "documentReady" && e.invoiceId === invoice!.id));
    return invoice!;
  } finally {
    watch.close();
  }
}

const storedDocuments = (invoiceId: string) =>
  stack.database.sql<{ format: string; sha256: string; content: Buffer; created_at: Date }[]>`
    select format, sha256, content, created_at from invoice_documents where invoice_id = ${invoiceId} order by format`;

describe("document formats", () => {
  it("renders all five formats of a full invoice, each with the SHA-256 of its bytes, over RPC and REST", async () => {
    const invoice = await issued(sampleRequest(0));
    const client = stack.client(stack.tenantA);
    for (const [format, path, contentType, suffix] of allFormats) {
      const document = await client.getInvoiceDocument({ id: invoice.id, format });
      assert.equal(document.contentType, contentType, DocumentFormat[format]);
      assert.equal(document.filename, `invoice-${invoice.number}${suffix}`);
      assert.equal(document.sha256, sha256(document.content).toString("hex"), `${DocumentFormat[format]}'s digest is of its bytes`);
      const rest = await fetch(`${stack.gatewayUrl}/v1/invoices/${invoice.id}/${path}`, {
        headers: { authorization: `Bearer ${stack.tenantA.apiKey}` },
      });
      assert.equal(rest.status, 200, path);
      assert.equal(rest.headers.get("content-type"), contentType);
      assert.equal(rest.headers.get("content-disposition"), `attachment; filename="invoice-${invoice.number}${suffix}"`);
      const bytes = Buffer.from(await rest.arrayBuffer());
      assert.deepEqual(bytes, Buffer.from(document.content));
      assert.equal(rest.headers.get("repr-digest"), `sha-256=:${sha256(bytes).toString("base64")}:`);
    }
    const xrechnung = Buffer.from((await client.getInvoiceDocument({ id: invoice.id, format: DocumentFormat.XRECHNUNG_UBL })).content);
    assert.match(xrechnung.toString(), /<cbc:CustomizationID>[^<]*xrechnung_3\.0<\/cbc:CustomizationID>/);
    const peppol = Buffer.from((await client.getInvoiceDocument({ id: invoice.id, format: DocumentFormat.PEPPOL_UBL })).content);
    assert.match(peppol.toString(), /<cbc:CustomizationID>[^<]*poacc:billing:3\.0<\/cbc:CustomizationID>/);
    const cii = Buffer.from((await client.getInvoiceDocument({ id: invoice.id, format: DocumentFormat.XRECHNUNG_CII })).content);
    assert.match(cii.toString(), /<rsm:CrossIndustryInvoice /);
  });

  it("renders no XRechnung without a buyer reference and says so, naming BT-10 and BR-DE-15; PDF, DOCX and Peppol it renders", async () => {
    // A German seller and a French buyer: Peppol asks for a buyer or an order reference (the order reference is there).
    const invoice = await issued(sampleRequest(2, (r) => (r.buyerReference = "")));
    const stored = await storedDocuments(invoice.id);
    assert.deepEqual(
      stored.map((d) => d.format),
      ["DOCX", "PDF", "PEPPOL_UBL"],
    );
    const client = stack.client(stack.tenantA);
    for (const format of [DocumentFormat.XRECHNUNG_UBL, DocumentFormat.XRECHNUNG_CII]) {
      const err = ConnectError.from(await client.getInvoiceDocument({ id: invoice.id, format }).catch((e: unknown) => e));
      assert.equal(err.code, Code.FailedPrecondition);
      assert.equal(err.findDetails(ErrorInfoSchema)[0]?.reason, "EINVOICE_PROFILE_NOT_MET");
      const violations = err.findDetails(PreconditionFailureSchema).flatMap((p) => p.violations);
      assert.deepEqual(
        violations.map((v) => [v.type, v.subject]),
        [["BR-DE-15", "buyer_reference"]],
      );
      assert.match(violations[0]!.description, /BT-10/);
    }
    // Another tenant learns nothing of the invoice, not even what it lacks.
    const otherTenant = ConnectError.from(
      await stack
        .client(stack.tenantB)
        .getInvoiceDocument({ id: invoice.id, format: DocumentFormat.XRECHNUNG_UBL })
        .catch((e: unknown) => e),
    );
    assert.equal(otherTenant.code, Code.NotFound);
    assert.deepEqual(otherTenant.findDetails(PreconditionFailureSchema), []);
    const rest = await fetch(`${stack.gatewayUrl}/v1/invoices/${invoice.id}/xrechnung-cii`, {
      headers: { authorization: `Bearer ${stack.tenantA.apiKey}` },
    });
    assert.equal(rest.status, 400);
    const body = (await rest.json()) as { code: string; details: { "@type": string; violations?: unknown[] }[] };
    assert.equal(body.code, "failed_precondition");
    const failure = body.details.find((d) => d["@type"] === "type.googleapis.com/google.rpc.PreconditionFailure");
    assert.deepEqual(failure?.violations, [
      { type: "BR-DE-15", subject: "buyer_reference", description: "BT-10 buyer reference (the Leitweg-ID of a public buyer) is required" },
    ]);
  });

  it("answers a met format a READY invoice was archived without as not archived, and an unknown format as InvalidArgument", async () => {
    const invoice = await issued(sampleRequest(0));
    // As for an invoice documented before the format existed: it is never rendered afterwards.
    await stack.database.sql`delete from invoice_documents where invoice_id = ${invoice.id} and format = 'PEPPOL_UBL'`;
    const client = stack.client(stack.tenantA);
    const notArchived = ConnectError.from(
      await client.getInvoiceDocument({ id: invoice.id, format: DocumentFormat.PEPPOL_UBL }).catch((e: unknown) => e),
    );
    assert.equal(notArchived.code, Code.FailedPrecondition);
    assert.equal(notArchived.findDetails(ErrorInfoSchema)[0]?.reason, "DOCUMENT_NOT_ARCHIVED");
    assert.match(notArchived.rawMessage, /archived without PEPPOL_UBL/);
    const unknown = ConnectError.from(
      await client.getInvoiceDocument({ id: invoice.id, format: 99 as DocumentFormat }).catch((e: unknown) => e),
    );
    assert.equal(unknown.code, Code.InvalidArgument);
    assert.match(unknown.rawMessage, /^format:/);
  });

  it("keeps the stored bytes and digests when the issued event is delivered again and rendered differently", async () => {
    const invoice = await issued(sampleRequest(0, (r) => (r.note = probeNote)));
    const before = await storedDocuments(invoice.id);
    assert.equal(before.length, 5);
    const rendersBefore = renders;
    await topic.until((ms) => ms.some((m) => m.key === invoice.id && readCloudEventHeaders(m.headers).type === "invoice.issued"));
    const event = topic.items.find((m) => m.key === invoice.id && readCloudEventHeaders(m.headers).type === "invoice.issued")!;
    await produceRaw(brokers(), stack.events!.topic, [{ key: event.key, value: event.value, headers: event.headers }]);
    const id = readCloudEventHeaders(event.headers).id;
    const copies = await topic.until((ms) => ms.filter((m) => readCloudEventHeaders(m.headers).id === id).length === 2);
    const copy = copies.filter((m) => readCloudEventHeaders(m.headers).id === id)[1]!;
    const groupId = stack.events!.groupId;
    await eventually(
      async () => (await committedOffset(brokers(), groupId, stack.events!.topic, copy.partition)) > BigInt(copy.offset),
      "the copy's offset to be committed",
    );
    assert.equal(renders, rendersBefore + 1, "the copy was rendered again, to different XML");
    assert.deepEqual(await storedDocuments(invoice.id), before);
    for (const d of before) assert.equal(d.sha256, sha256(d.content).toString("hex"), d.format);
  });
});

it("runs the SDK README's download example: saves an XRechnung with its digest, or names what the invoice misses", async (t) => {
  const example = readFileSync("examples/sdk-download.ts", "utf8");
  assert.ok(readFileSync("gen/README.md", "utf8").includes("```ts\n" + example + "```"), "gen/README.md carries the example verbatim");
  const folder = mkdtempSync(join(tmpdir(), "sdk-download-"));
  t.after(() => rmSync(folder, { recursive: true, force: true }));
  const run = async (id: string) =>
    (
      await promisify(execFile)(process.execPath, ["--import", "tsx", "examples/sdk-download.ts", id, folder], {
        env: { ...process.env, INVOICER_URL: stack.gatewayUrl, INVOICER_API_KEY: stack.tenantA.apiKey },
      })
    ).stdout.trim();
  const full = await issued(sampleRequest(0));
  const name = `invoice-${full.number}-xrechnung-ubl.xml`;
  const line = await run(full.id);
  const digest = sha256(readFileSync(join(folder, name))).toString("hex");
  assert.equal(line, `saved ${name} (application/xml), sha256 ${digest}`);
  const partial = await issued(sampleRequest(2, (r) => (r.buyerReference = "")));
  assert.equal(
    await run(partial.id),
    "no XRechnung: buyer_reference is missing (BR-DE-15: BT-10 buyer reference (the Leitweg-ID of a public buyer) is required)",
  );
});
