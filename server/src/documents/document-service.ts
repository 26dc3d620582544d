import { Code, type ServiceImpl } from "@connectrpc/connect";
import { DocumentFormat, type InvoiceService } from "@invoicer/sdk";
import type { InvoiceDocumentService } from "@invoicer/sdk/invoicer/v1/internal_service_pb";
import { formatGaps } from "@invoicer/platform/einvoice-profiles";
import { ErrorReason, preconditionFailure, rpcError } from "@invoicer/platform/error-details";
import type { Tracer } from "@invoicer/platform/telemetry";
import type { Db } from "../db/client.ts";
import { dbSpan } from "../db/spans.ts";
import { tenantOf } from "../rpc/callers.ts";
import { invalidArgument } from "../rpc/errors.ts";
import { uuidPattern } from "../shared/ids.ts";
import { Violations } from "../shared/violations.ts";
import { invoiceEvent } from "../invoices/events.ts";
import { invoiceLookup, notFound } from "../invoices/invoice-service.ts";
import type { InvoiceRecord } from "../invoices/invoice-store.ts";
import { toInvoice } from "../invoices/to-proto.ts";
import { attachDocuments, findDocument, type DocumentFormatName, type RenderedDocument } from "./document-store.ts";

/** What the server knows of each document format: the one place content types and file names come from. */
export const documentFormats: Partial<
  Record<DocumentFormat, { name: DocumentFormatName; contentType: string; fileSuffix: string; magic: string }>
> = {
  [DocumentFormat.PDF]: { name: "PDF", contentType: "application/pdf", fileSuffix: ".pdf", magic: "%PDF-" },
  [DocumentFormat.DOCX]: {
    name: "DOCX",
    contentType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    fileSuffix: ".docx",
    magic: "PK\x03\x04", // a DOCX is a zip
  },
  // KoSIT and OpenPeppol name application/xml (RFC 7303) for XRechnung and Peppol BIS files.
  [DocumentFormat.XRECHNUNG_UBL]: xml("XRECHNUNG_UBL", "-xrechnung-ubl.xml"),
  [DocumentFormat.XRECHNUNG_CII]: xml("XRECHNUNG_CII", "-xrechnung-cii.xml"),
  [DocumentFormat.PEPPOL_UBL]: xml("PEPPOL_UBL", "-peppol.xml"),
};

function xml(name: DocumentFormatName, fileSuffix: string) {
  return { name, contentType: "application/xml", fileSuffix, magic: "<?xml" };
}

const formatNames = Object.values(documentFormats)
  .map((f) => f.name)
  .join(", ");

/** invoicer.v1.InvoiceDocumentService: the consumer hands rendered documents back here. */
export function invoiceDocumentService(db: Db, tracer: Tracer): ServiceImpl<typeof InvoiceDocumentService> {
  return {
    async attachDocuments(req) {
      const v = new Violations();
      for (const [field, value] of [
        ["event_id", req.eventId],
        ["tenant_id", req.tenantId],
        ["invoice_id", req.invoiceId],
      ] as const) {
        if (!uuidPattern.test(value)) v.add(field, "must be a UUID in lower case");
      }
      if (req.documents.length === 0) v.add("documents", "must not be empty");
      const documents: RenderedDocument[] = [];
      req.documents.forEach((d, i) => {
        const format = documentFormats[d.format];
        if (!format) return v.add(`documents[${i}].format`, `must be one of ${formatNames}`);
        if (documents.some((o) => o.format === format.name)) return v.add(`documents[${i}].format`, "appears twice");
        if (!Buffer.from(d.content.subarray(0, format.magic.length)).equals(Buffer.from(format.magic, "latin1"))) {
          return v.add(`documents[${i}].content`, `is not a ${format.name} file`);
        }
        documents.push({ format: format.name, contentType: format.contentType, content: d.content });
      });
      if (v.list.length > 0) throw invalidArgument(v.list);
      const result = await dbSpan(tracer, "INSERT", "invoice_documents", () =>
        attachDocuments(db, req, documents, invoiceEvent("documentReady")),
      );
      if (result.kind === "not-found") throw notFound(req.invoiceId);
      return { attached: result.kind === "attached" };
    },
  };
}

/** invoicer.v1.InvoiceService's GetInvoiceDocument: a rendered document of the tenant's invoice (app.ts serves it with invoiceService). */
export function invoiceDocumentDownloads(db: Db, tracer: Tracer): Pick<ServiceImpl<typeof InvoiceService>, "getInvoiceDocument"> {
  const mustFind = invoiceLookup(db, tracer);
  return {
    async getInvoiceDocument(req, ctx) {
      const tenantId = tenantOf(ctx);
      const format = documentFormats[req.format];
      if (!format) throw invalidArgument([{ field: "format", description: `must be one of ${formatNames}` }]);
      const invoice = await mustFind(tenantId, req.id);
      const document = await dbSpan(tracer, "SELECT", "invoice_documents", () => findDocument(db, tenantId, req.id, format.name));
      if (!document) throw notRendered(invoice, req.format);
      return { ...document, filename: `invoice-${invoice.number}${format.fileSuffix}` };
    },
  };
}

/** Why a document is not there: the invoice does not meet the format's profile (it never will be), or it is not rendered yet. */
function notRendered(invoice: InvoiceRecord, format: DocumentFormat) {
  const gaps = formatGaps(toInvoice(invoice), format);
  if (gaps.length > 0) {
    const message = `the invoice lacks what ${DocumentFormat[format]} requires: ${gaps.map((g) => `${g.field} (${g.rule})`).join(", ")}`;
    return rpcError(message, Code.FailedPrecondition, ErrorReason.EINVOICE_PROFILE_NOT_MET, {
      details: [preconditionFailure(gaps.map((g) => ({ type: g.rule, subject: g.field, description: g.description })))],
    });
  }
  // Documents are archived once and never rendered again: a READY invoice without this one never gets it.
  if (invoice.documentStatus === "READY") {
    const message = `the invoice's documents were archived without ${DocumentFormat[format]} (issued before the format existed); it is never rendered afterwards`;
    return rpcError(message, Code.FailedPrecondition, ErrorReason.DOCUMENT_NOT_ARCHIVED);
  }
  return rpcError(
    "the invoice's documents are not rendered yet (document_status PENDING); try again shortly",
    Code.FailedPrecondition,
    ErrorReason.DOCUMENT_NOT_READY,
  );
}
