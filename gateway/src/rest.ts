import { fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { codeToHttpStatus, codeToString } from "@connectrpc/connect/protocol-connect";
import {
  CreateCreditNoteRequestSchema,
  CreateInvoiceRequestSchema,
  DocumentFormat,
  FieldViolationsSchema,
  InvoiceSchema,
  InvoiceStatus,
  type InvoiceService,
} from "@invoicer/sdk";
import { badRequest, ErrorReason, rpcError, withErrorInfo } from "@invoicer/platform/error-details";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { restDetails, sendRpcError } from "./rpc-errors.ts";
import type { TenantCapacity } from "./tenant-capacity.ts";

interface RestOptions {
  client: Client<typeof InvoiceService>;
  /** The headers the server believes (internal token, tenant, trace and request id). */
  callHeaders: (request: FastifyRequest) => Record<string, string>;
  /** The deadline of each call to the server: a server that does not answer gets the caller a 504, not a hang. */
  timeoutMs: number;
  /** What each tenant may hold of this gateway, shared with the forwarded RPCs. */
  capacity: TenantCapacity;
}

/** REST/JSON routes over the same typed client the SDK offers; bodies use the proto JSON mapping. */
export async function restRoutes(app: FastifyInstance, { client, callHeaders: headers, timeoutMs, capacity }: RestOptions) {
  const callOptions = (request: FastifyRequest) => ({ headers: headers(request), timeoutMs });
  // Before the body is read: a caller without a valid key costs no parsing.
  app.addHook("onRequest", app.authenticateRest);
  boundPerTenant(app, capacity);
  app.removeContentTypeParser("text/plain");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, strictJsonParser(app));
  const send = (reply: FastifyReply, status: number, body: JsonValue) => reply.code(status).send(body);

  app.post<{ Body: unknown }>("/v1/invoices", async (request, reply) => {
    try {
      const req = fromJson(CreateInvoiceRequestSchema, (request.body ?? {}) as JsonValue);
      keyFromHeader(req, request);
      const { invoice } = await client.createInvoice(req, callOptions(request));
      return send(reply, 201, toJson(InvoiceSchema, invoice!));
    } catch (err) {
      return sendFailure(reply, asBadJson(err));
    }
  });

  // The invoice is the path's; a body naming another is refused rather than silently overridden.
  app.post<{ Body: unknown; Params: { id: string } }>("/v1/invoices/:id/credit-notes", async (request, reply) => {
    try {
      const req = fromJson(CreateCreditNoteRequestSchema, (request.body ?? {}) as JsonValue);
      if (req.invoiceId !== "" && req.invoiceId !== request.params.id) {
        const violation = { field: "invoice_id", description: "must be the path's invoice id or absent" };
        throw rpcError(`invoice_id: ${violation.description}`, Code.InvalidArgument, ErrorReason.VALIDATION_FAILED, {
          details: [badRequest([violation])],
        });
      }
      req.invoiceId = request.params.id;
      keyFromHeader(req, request);
      const { creditNote } = await client.createCreditNote(req, callOptions(request));
      return send(reply, 201, toJson(InvoiceSchema, creditNote!));
    } catch (err) {
      return sendFailure(reply, asBadJson(err));
    }
  });

  app.get<{ Params: { id: string } }>("/v1/invoices/:id", async (request, reply) => {
    try {
      const { invoice } = await client.getInvoice({ id: request.params.id }, callOptions(request));
      return send(reply, 200, toJson(InvoiceSchema, invoice!));
    } catch (err) {
      return sendFailure(reply, err);
    }
  });

  documentFileRoutes(app, client, callOptions);

  app.get<{ Querystring: Record<string, string | string[] | undefined> }>("/v1/invoices", async (request, reply) => {
    try {
      const page = await client.listInvoices(listRequest(request.query), callOptions(request));
      return send(reply, 200, {
        invoices: page.invoices.map((i) => toJson(InvoiceSchema, i)),
        nextPageToken: page.nextPageToken,
      });
    } catch (err) {
      return sendFailure(reply, err);
    }
  });
}

type CallOptions = (request: FastifyRequest) => { headers: Record<string, string>; timeoutMs: number };

/** The rendered documents, as files: GET /v1/invoices/{id}/pdf, /docx, /xrechnung-ubl, /xrechnung-cii and /peppol-ubl. */
function documentFileRoutes(app: FastifyInstance, client: Client<typeof InvoiceService>, callOptions: CallOptions) {
  for (const [path, format] of documentRoutes) {
    app.get<{ Params: { id: string } }>(`/v1/invoices/:id/${path}`, async (request, reply) => {
      try {
        const document = await client.getInvoiceDocument({ id: request.params.id, format }, callOptions(request));
        return reply
          .code(200)
          .header("content-type", document.contentType)
          .header("content-disposition", `attachment; filename="${document.filename}"`)
          .header("repr-digest", reprDigest(document.sha256))
          .send(Buffer.from(document.content));
      } catch (err) {
        return sendFailure(reply, err);
      }
    });
  }
}

/** Answers with an error: a ConnectError meant for the caller as JSON, anything else as an internal error. */
function sendFailure(reply: FastifyReply, err: unknown) {
  // Anything but an answer meant for the caller is our bug (JavaScript or serialization text): logged, never echoed.
  if (!(err instanceof ConnectError) || err.code === Code.Internal || err.code === Code.Unknown) {
    reply.log.error({ err }, "REST request failed");
    return sendRpcError(reply.request, reply, Code.Internal, "internal error");
  }
  const violations = err.findDetails(FieldViolationsSchema)[0]?.violations;
  return reply.code(codeToHttpStatus(err.code)).send({
    code: codeToString(err.code),
    message: err.rawMessage,
    ...(violations ? { violations: violations.map(({ field, description }) => ({ field, description })) } : {}),
    details: restDetails(withErrorInfo(err)),
  });
}

/** The Idempotency-Key header, for a request whose body names no key. */
function keyFromHeader(req: { idempotencyKey: string }, request: FastifyRequest): void {
  const headerKey = request.headers["idempotency-key"];
  if (req.idempotencyKey === "" && typeof headerKey === "string") req.idempotencyKey = headerKey;
}

/** A ListInvoices request from the query string: page_size, status and page_token, each at most once. */
function listRequest(query: Record<string, string | string[] | undefined>) {
  const [pageSizeText, statusName, pageToken] = ["page_size", "status", "page_token"].map((name) => queryValue(query, name));
  // Three digits at most: the server checks the range, and nothing here can overflow int32.
  if (pageSizeText && !/^\d{1,3}$/.test(pageSizeText)) {
    throw new ConnectError("page_size: must be a whole number from 0 to 100", Code.InvalidArgument);
  }
  const status = statusName ? restStatuses.get(statusName.toUpperCase()) : InvoiceStatus.UNSPECIFIED;
  if (status === undefined) throw new ConnectError("status: must be ISSUED, PAID or VOID", Code.InvalidArgument);
  return { pageSize: Number(pageSizeText || 0), pageToken: pageToken ?? "", status };
}

/** Each document format's route under /v1/invoices/{id}/. */
export const documentRoutes = [
  ["pdf", DocumentFormat.PDF],
  ["docx", DocumentFormat.DOCX],
  ["xrechnung-ubl", DocumentFormat.XRECHNUNG_UBL],
  ["xrechnung-cii", DocumentFormat.XRECHNUNG_CII],
  ["peppol-ubl", DocumentFormat.PEPPOL_UBL],
] as const;

/** RFC 9530's Repr-Digest of the stored bytes, from the SHA-256 the server keeps in hex: `sha-256=:<base64>:`. */
const reprDigest = (sha256Hex: string) => `sha-256=:${Buffer.from(sha256Hex, "hex").toString("base64")}:`;

/** The statuses a list can be filtered by, by name; a Map, so no other key (such as "constructor") matches. */
const restStatuses = new Map([
  ["ISSUED", InvoiceStatus.ISSUED],
  ["PAID", InvoiceStatus.PAID],
  ["VOID", InvoiceStatus.VOID],
]);

/** A query parameter given at most once (Fastify makes a repeated one an array). */
function queryValue(query: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = query[name];
  if (Array.isArray(value)) throw new ConnectError(`${name}: must be given at most once`, Code.InvalidArgument);
  return value;
}

/** Fastify's JSON parser behind a fatal UTF-8 decoder: invalid UTF-8 is refused, not stored as U+FFFD. */
function strictJsonParser(app: FastifyInstance) {
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  const parseJson = app.getDefaultJsonParser("error", "error");
  return (request: FastifyRequest, body: Buffer, done: (err: Error | null, body?: unknown) => void) => {
    let text: string;
    try {
      text = utf8.decode(body);
    } catch {
      return done(Object.assign(new Error("request body is not valid UTF-8"), { statusCode: 400 }));
    }
    // Fastify's JSON parser answers through `done`; nothing to await.
    void parseJson(request, text, done);
  };
}

/** A body that does not fit the request message is the client's mistake, not ours: INVALID_REQUEST, as for a body that is no JSON. */
function asBadJson(err: unknown): unknown {
  if (err instanceof ConnectError) return err;
  const message = err instanceof Error ? err.message : "malformed request body";
  return rpcError(message, Code.InvalidArgument, ErrorReason.INVALID_REQUEST);
}

/**
 * A REST call holds one of its tenant's call slots until its answer has gone, and its answer's bytes
 * until the caller's connection has taken them: the same bounds as a forwarded RPC's, so a tenant's
 * unread REST answers (a page of invoices, a PDF) cannot fill the gateway's memory.
 */
function boundPerTenant(app: FastifyInstance, capacity: TenantCapacity) {
  app.addHook("preHandler", async (request, reply) => {
    const tenant = request.tenantId;
    if (!capacity.openCall(tenant)) {
      const message = `too many calls in flight for this tenant (at most ${capacity.limits.maxOpenCalls})`;
      return sendRpcError(request, reply, Code.ResourceExhausted, message, { reason: ErrorReason.TOO_MANY_CALLS_IN_FLIGHT });
    }
    reply.raw.once("close", () => capacity.closeCall(tenant));
  });
  app.addHook("onSend", async (request, reply, payload) => {
    const tenant = request.tenantId;
    const bytes = typeof payload === "string" ? Buffer.byteLength(payload) : Buffer.isBuffer(payload) ? payload.length : 0;
    if (!tenant || bytes === 0) return payload;
    if (capacity.hold(tenant, bytes)) {
      reply.raw.once("close", () => capacity.release(tenant, bytes));
      return payload;
    }
    const message = "answers this gateway holds for the tenant's callers that have not read them reached their bound";
    const error = rpcError(message, Code.ResourceExhausted, ErrorReason.TOO_MANY_ANSWERS_UNREAD);
    reply.code(codeToHttpStatus(error.code)).header("content-type", "application/json");
    return JSON.stringify({ code: codeToString(error.code), message, details: restDetails(withErrorInfo(error)) });
  });
}
