import { fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { codeToHttpStatus, codeToString } from "@connectrpc/connect/protocol-connect";
import {
  CreateInvoiceRequestSchema,
  DocumentFormat,
  FieldViolationsSchema,
  InvoiceSchema,
  InvoiceStatus,
  type InvoiceService,
} from "@invoicer/sdk";
import type { FastifyInstance, FastifyReply, preHandlerHookHandler } from "fastify";

interface RestOptions {
  client: Client<typeof InvoiceService>;
  authenticate: preHandlerHookHandler;
  callHeaders: (tenantId: string) => Record<string, string>;
}

/** REST/JSON routes over the same typed client the SDK offers; bodies use the proto JSON mapping. */
export async function restRoutes(app: FastifyInstance, { client, authenticate, callHeaders }: RestOptions) {
  app.addHook("preHandler", authenticate);
  app.removeContentTypeParser("text/plain");
  const send = (reply: FastifyReply, status: number, body: JsonValue) => reply.code(status).send(body);
  const fail = (reply: FastifyReply, err: unknown) => {
    const error = ConnectError.from(err);
    const violations = error.findDetails(FieldViolationsSchema)[0]?.violations;
    return reply.code(codeToHttpStatus(error.code)).send({
      code: codeToString(error.code),
      message: error.rawMessage,
      ...(violations ? { violations: violations.map(({ field, description }) => ({ field, description })) } : {}),
    });
  };

  app.post<{ Body: unknown }>("/v1/invoices", async (request, reply) => {
    try {
      const req = fromJson(CreateInvoiceRequestSchema, (request.body ?? {}) as JsonValue);
      const headerKey = request.headers["idempotency-key"];
      if (req.idempotencyKey === "" && typeof headerKey === "string") req.idempotencyKey = headerKey;
      const { invoice } = await client.createInvoice(req, { headers: callHeaders(request.tenantId) });
      return send(reply, 201, toJson(InvoiceSchema, invoice!));
    } catch (err) {
      return fail(reply, asBadJson(err));
    }
  });

  app.get<{ Params: { id: string } }>("/v1/invoices/:id", async (request, reply) => {
    try {
      const { invoice } = await client.getInvoice({ id: request.params.id }, { headers: callHeaders(request.tenantId) });
      return send(reply, 200, toJson(InvoiceSchema, invoice!));
    } catch (err) {
      return fail(reply, err);
    }
  });

  // The rendered documents, as files: GET /v1/invoices/{id}/pdf and /v1/invoices/{id}/docx.
  for (const [path, format] of [["pdf", DocumentFormat.PDF], ["docx", DocumentFormat.DOCX]] as const) {
    app.get<{ Params: { id: string } }>(`/v1/invoices/:id/${path}`, async (request, reply) => {
      try {
        const document = await client.getInvoiceDocument({ id: request.params.id, format }, { headers: callHeaders(request.tenantId) });
        return reply
          .code(200)
          .header("content-type", document.contentType)
          .header("content-disposition", `attachment; filename="${document.filename}"`)
          .send(Buffer.from(document.content));
      } catch (err) {
        return fail(reply, err);
      }
    });
  }

  app.get<{ Querystring: Record<string, string | undefined> }>("/v1/invoices", async (request, reply) => {
    try {
      const q = request.query;
      const pageSize = Number(q.page_size ?? 0);
      if (!Number.isInteger(pageSize)) throw new ConnectError("page_size: must be an integer", Code.InvalidArgument);
      const status = q.status ? InvoiceStatus[q.status.toUpperCase() as keyof typeof InvoiceStatus] : InvoiceStatus.UNSPECIFIED;
      if (status === undefined) throw new ConnectError("status: must be ISSUED, PAID or VOID", Code.InvalidArgument);
      const page = await client.listInvoices(
        { pageSize, pageToken: q.page_token ?? "", status },
        { headers: callHeaders(request.tenantId) },
      );
      return send(reply, 200, {
        invoices: page.invoices.map((i) => toJson(InvoiceSchema, i)),
        nextPageToken: page.nextPageToken,
      });
    } catch (err) {
      return fail(reply, err);
    }
  });
}

/** A body that does not fit the request message is the client's mistake, not ours. */
function asBadJson(err: unknown): unknown {
  if (err instanceof ConnectError) return err;
  const message = err instanceof Error ? err.message : "malformed request body";
  return new ConnectError(message, Code.InvalidArgument);
}
