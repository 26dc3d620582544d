import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { DocumentFormat, InvoiceService, PreconditionFailureSchema } from "@invoicer/sdk";

const apiKey = process.env.INVOICER_API_KEY;
const transport = createConnectTransport({
  baseUrl: process.env.INVOICER_URL ?? "http://127.0.0.1:8080",
  httpVersion: "1.1",
  interceptors: [(next) => (req) => (req.header.set("Authorization", `Bearer ${apiKey}`), next(req))],
});
const invoices = createClient(InvoiceService, transport);
const [invoiceId, folder = "."] = process.argv.slice(2);

try {
  const doc = await invoices.getInvoiceDocument({ id: invoiceId, format: DocumentFormat.XRECHNUNG_UBL });
  // The digest the server stored with the document when the invoice was issued.
  if (createHash("sha256").update(doc.content).digest("hex") !== doc.sha256) throw new Error(`${doc.filename} does not match its digest`);
  await writeFile(join(folder, doc.filename), doc.content);
  console.log(`saved ${doc.filename} (${doc.contentType}), sha256 ${doc.sha256}`);
} catch (e) {
  const err = ConnectError.from(e);
  const missing = err.findDetails(PreconditionFailureSchema).flatMap((failure) => failure.violations);
  if (err.code !== Code.FailedPrecondition || missing.length === 0) throw err; // DOCUMENT_NOT_READY: try again later
  for (const v of missing) console.log(`no XRechnung: ${v.subject} is missing (${v.type}: ${v.description})`);
}
