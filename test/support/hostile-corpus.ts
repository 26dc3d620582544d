// The hostile-input corpus: requests a careless or malicious client could send the gateway, each
// with the one answer it must get. Data only: test/hostile.test.ts sends them and judges.
//
// Conventions:
// - `expect` is a Connect code for RPC transports (gRPC and gRPC-web report it in grpc-status), an
//   HTTP status for REST, and an HTTP status for requests that are in no RPC protocol at all (a
//   foreign content type: the Connect and gRPC specs answer those with 415, outside any code).
// - Every CreateInvoice that should be refused is otherwise valid, with its own idempotency key
//   (`hostile-<n>`), so a request that is wrongly accepted shows up as a stored row named after it.
// - Random bytes come from a seeded PRNG: the corpus is the same on every run.
import { gzipSync } from "node:zlib";
import { create, fromBinary, toBinary, toJson, toJsonString, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import {
  CreateInvoiceRequestSchema,
  DocumentFormat,
  GetInvoiceDocumentRequestSchema,
  GetInvoiceRequestSchema,
  InvoiceStatus,
  ListInvoicesRequestSchema,
  PayInvoiceRequestSchema,
  VoidInvoiceRequestSchema,
  CreateCreditNoteRequestSchema,
  WatchInvoicesRequestSchema,
  type CreateInvoiceRequest,
} from "@invoicer/sdk";
import { ServerReflectionRequestSchema } from "@invoicer/sdk/grpc/reflection/v1/reflection_pb";
import { AttachDocumentsRequestSchema, AuthenticateApiKeyRequestSchema } from "@invoicer/sdk/invoicer/v1/internal_service_pb";
import { internalTokenHeader, tenantHeader } from "@invoicer/platform/internal-auth";
import { sampleInvoice } from "@invoicer/devstack/samples";
import { envelope, prng, type HostileRequest, type Transport, type WireRequest } from "./hostile-wire.ts";

/** What the builders need from the running stack. */
export interface CorpusContext {
  keyA: string;
  tenantBId: string;
  revokedKey: string;
  internalToken: string;
  /** An ISSUED invoice of tenant B: tenant A must not be able to see or change it. */
  invoiceOfB: string;
  maxBodyBytes: number;
}

export type Expected = Code | { http: number };

export interface HostileCase {
  category: string;
  name: string;
  transport: Transport;
  expect: Expected;
  build(ctx: CorpusContext): HostileRequest;
}

export const rpcTransports = ["connect-json", "connect-binary", "grpc-web", "grpc"] as const;
type RpcTransport = (typeof rpcTransports)[number];
export const allTransports: Transport[] = [...rpcTransports, "rest"];

const service = "/invoicer.v1.InvoiceService";
const missingId = "00000000-0000-4000-8000-000000000000";
const MiB = 1024 * 1024;

/** Headers of a call: Authorization with tenant A's key unless `auth` says otherwise (null: none). */
interface CallOptions {
  auth?: string | null;
  headers?: Record<string, string>;
}

function authHeaders(ctx: CorpusContext, opts: CallOptions): Record<string, string> {
  const auth = opts.auth === undefined ? `Bearer ${ctx.keyA}` : opts.auth;
  return { ...(auth === null ? {} : { authorization: auth }), ...opts.headers };
}

const contentTypes: Record<RpcTransport, string> = {
  "connect-json": "application/json",
  "connect-binary": "application/proto",
  "grpc-web": "application/grpc-web+proto",
  grpc: "application/grpc",
};

/** A message sent the way a client of `transport` sends it (JSON for Connect JSON, protobuf otherwise). */
function rpc<Desc extends DescMessage>(
  transport: RpcTransport,
  path: string,
  schema: Desc,
  init: MessageInitShape<Desc>,
  ctx: CorpusContext,
  opts: CallOptions = {},
): WireRequest {
  const message = create(schema, init);
  const body = transport === "connect-json" ? Buffer.from(toJsonString(schema, message)) : toBinary(schema, message);
  return raw(transport, path, body, ctx, opts);
}

/** Bytes as the body of a call in `transport`'s framing (enveloped for gRPC and gRPC-web). */
function raw(
  transport: RpcTransport,
  path: string,
  body: Uint8Array,
  ctx: CorpusContext,
  opts: CallOptions & { contentType?: string; chunked?: boolean } = {},
): WireRequest {
  const headers = { "content-type": opts.contentType ?? contentTypes[transport], ...authHeaders(ctx, opts) };
  if (transport === "grpc")
    return { kind: "wire", http2: true, path, headers: { te: "trailers", ...headers }, body: envelope(body), chunked: opts.chunked };
  if (transport === "grpc-web")
    return { kind: "wire", path, headers: { "x-grpc-web": "1", ...headers }, body: envelope(body), chunked: opts.chunked };
  return { kind: "wire", path, headers, body, chunked: opts.chunked };
}

/** Bytes exactly as given (no envelope added), over HTTP/2 for gRPC. */
function unframed(
  transport: RpcTransport,
  path: string,
  body: Uint8Array | Uint8Array[] | undefined,
  ctx: CorpusContext,
  opts: CallOptions & { contentType?: string } = {},
): WireRequest {
  const headers = { "content-type": opts.contentType ?? contentTypes[transport], ...authHeaders(ctx, opts) };
  return transport === "grpc"
    ? { kind: "wire", http2: true, path, headers: { te: "trailers", ...headers }, body }
    : { kind: "wire", path, headers, body };
}

function rest(
  method: string,
  path: string,
  ctx: CorpusContext,
  opts: CallOptions & { json?: string | Uint8Array; contentType?: string; chunked?: boolean } = {},
): WireRequest {
  const headers = authHeaders(ctx, opts);
  if (opts.json === undefined) return { kind: "wire", method, path, headers };
  return {
    kind: "wire",
    method,
    path,
    headers: { "content-type": opts.contentType ?? "application/json", ...headers },
    body: typeof opts.json === "string" ? Buffer.from(opts.json) : opts.json,
    chunked: opts.chunked,
  };
}

const restStatus = (code: Code): number =>
  ({ [Code.InvalidArgument]: 400, [Code.Unauthenticated]: 401, [Code.NotFound]: 404, [Code.ResourceExhausted]: 413 })[code as number] ??
  500;

let invoiceSerial = 0;

/** A valid invoice with a key naming the case, changed by `mutate` into the hostile variant. */
function invoice(mutate: (r: CreateInvoiceRequest) => void = () => {}): CreateInvoiceRequest {
  const request = sampleInvoice({ idempotencyKey: `hostile-${++invoiceSerial}` });
  mutate(request);
  return request;
}

/** The proto JSON of an invoice, for the REST route and Connect JSON. */
const invoiceJson = (r: CreateInvoiceRequest) => toJsonString(CreateInvoiceRequestSchema, r);

/** A valid invoice's JSON with `replacement` spliced in where `marker` stands (raw bytes: invalid UTF-8 and the like). */
function spliceJson(marker: string, replacement: Uint8Array): Uint8Array {
  const json = invoiceJson(invoice((r) => (r.seller!.name = marker)));
  const at = json.indexOf(marker);
  return Buffer.concat([Buffer.from(json.slice(0, at)), replacement, Buffer.from(json.slice(at + marker.length))]);
}

/** A valid invoice's protobuf with the seller name's bytes replaced by `nameBytes` (same length). */
function spliceBinary(marker: string, nameBytes: Uint8Array): Uint8Array {
  const bytes = Buffer.from(
    toBinary(
      CreateInvoiceRequestSchema,
      invoice((r) => (r.seller!.name = marker)),
    ),
  );
  const at = bytes.indexOf(Buffer.from(marker));
  if (nameBytes.length !== marker.length || at < 0) throw new Error("spliceBinary: the replacement must have the marker's length");
  Buffer.from(nameBytes).copy(bytes, at);
  return bytes;
}

const methodPath = (m: string) => `${service}/${m}`;

/** A value made on first use and kept: builders must return the same bytes every time they are called. */
function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

/** Each case is sent as CreateInvoice over every transport (REST: POST /v1/invoices). */
function createInvoiceEverywhere(category: string, name: string, expect: Code, mutate: (r: CreateInvoiceRequest) => void): HostileCase[] {
  return allTransports.map((transport) => {
    const request = invoice(mutate);
    return {
      category,
      name: `${name} [${transport}]`,
      transport,
      expect: transport === "rest" ? { http: restStatus(expect) } : expect,
      build: (ctx) =>
        transport === "rest"
          ? rest("POST", "/v1/invoices", ctx, { json: invoiceJson(request) })
          : rpc(transport, methodPath("CreateInvoice"), CreateInvoiceRequestSchema, request, ctx),
    };
  });
}

/** Raw JSON text as CreateInvoice over Connect JSON and the REST route. */
function jsonEverywhere(category: string, name: string, expect: Code, body: () => string | Uint8Array): HostileCase[] {
  // One body per transport: each invoice in them gets its own idempotency key.
  const [connectBody, restBody] = [body(), body()];
  return [
    {
      category,
      name: `${name} [connect-json]`,
      transport: "connect-json",
      expect,
      build: (ctx) =>
        raw("connect-json", methodPath("CreateInvoice"), typeof connectBody === "string" ? Buffer.from(connectBody) : connectBody, ctx),
    },
    {
      category,
      name: `${name} [rest]`,
      transport: "rest",
      expect: { http: restStatus(expect) },
      build: (ctx) => rest("POST", "/v1/invoices", ctx, { json: restBody }),
    },
  ];
}

/** The four invoice-id methods, each with `id`, over one transport. */
type IdMethod = "GetInvoice" | "PayInvoice" | "VoidInvoice" | "GetInvoiceDocument";
const idMethods: IdMethod[] = ["GetInvoice", "PayInvoice", "VoidInvoice", "GetInvoiceDocument"];

function idCall(transport: RpcTransport, method: IdMethod, id: string, ctx: CorpusContext, opts: CallOptions = {}): WireRequest {
  const path = methodPath(method);
  switch (method) {
    case "GetInvoice":
      return rpc(transport, path, GetInvoiceRequestSchema, { id }, ctx, opts);
    case "PayInvoice":
      return rpc(transport, path, PayInvoiceRequestSchema, { id }, ctx, opts);
    case "VoidInvoice":
      return rpc(transport, path, VoidInvoiceRequestSchema, { id, reason: "hostile" }, ctx, opts);
    case "GetInvoiceDocument":
      return rpc(transport, path, GetInvoiceDocumentRequestSchema, { id, format: DocumentFormat.PDF }, ctx, opts);
  }
}

const grpcJs = (method: string, request: object, metadata: Record<string, string>): HostileRequest => ({
  kind: "grpc-js",
  method,
  request,
  metadata,
});

// ---------------------------------------------------------------------------------------------

function authentication(): HostileCase[] {
  const category = "API keys";
  const attempts: [string, (ctx: CorpusContext) => string | null][] = [
    ["no Authorization header", () => null],
    ["Basic credentials", () => "Basic dXNlcjpwYXNzd29yZA=="],
    ["Bearer with no key", () => "Bearer "],
    ["the scheme alone", () => "Bearer"],
    ["the key without a scheme", (ctx) => ctx.keyA],
    ["a wrong key", () => `Bearer inv_${"A".repeat(32)}`],
    ["a revoked key", (ctx) => `Bearer ${ctx.revokedKey}`],
    ["tenant A's key with a byte changed", (ctx) => `Bearer ${ctx.keyA.slice(0, -1)}${ctx.keyA.endsWith("x") ? "y" : "x"}`],
    ["tenant A's key followed by another token", (ctx) => `Bearer ${ctx.keyA} extra`],
    ["a 201-character key", () => `Bearer inv_${"k".repeat(197)}`],
    ["an SQL-looking key", () => "Bearer x'OR'1'='1';--"],
    ["a key with bytes outside ASCII", () => "Bearer inv_\u00e9\u00ff\u00fe"],
  ];
  const cases: HostileCase[] = [];
  for (const [what, header] of attempts) {
    for (const transport of allTransports) {
      cases.push({
        category,
        name: `${what} [${transport}]`,
        transport,
        expect: transport === "rest" ? { http: 401 } : Code.Unauthenticated,
        // Tenant B's invoice: were the key check bypassed, the answer would differ from Unauthenticated.
        build: (ctx) =>
          transport === "rest"
            ? rest("GET", `/v1/invoices/${ctx.invoiceOfB}`, ctx, { auth: header(ctx) })
            : idCall(transport, "GetInvoice", ctx.invoiceOfB, ctx, { auth: header(ctx) }),
      });
    }
  }
  // A streaming call and a real gRPC client, with no key and with a revoked one.
  cases.push(
    {
      category,
      name: "WatchInvoices without a key [connect-json]",
      transport: "connect-json",
      expect: Code.Unauthenticated,
      build: (ctx) =>
        unframed("connect-json", methodPath("WatchInvoices"), envelope(Buffer.from("{}")), ctx, {
          auth: null,
          contentType: "application/connect+json",
        }),
    },
    {
      category,
      name: "WatchInvoices with a revoked key [grpc]",
      transport: "grpc",
      expect: Code.Unauthenticated,
      build: (ctx) => rpc("grpc", methodPath("WatchInvoices"), WatchInvoicesRequestSchema, {}, ctx, { auth: `Bearer ${ctx.revokedKey}` }),
    },
    {
      category,
      name: "ListInvoices without a key [grpc-js]",
      transport: "grpc",
      expect: Code.Unauthenticated,
      build: () => grpcJs("ListInvoices", {}, {}),
    },
    {
      category,
      name: "ListInvoices with a revoked key [grpc-js]",
      transport: "grpc",
      expect: Code.Unauthenticated,
      build: (ctx) => grpcJs("ListInvoices", {}, { authorization: `Bearer ${ctx.revokedKey}` }),
    },
  );
  return cases;
}

function forgedInternalHeaders(): HostileCase[] {
  const category = "forged internal headers";
  const cases: HostileCase[] = [];
  const variants: [string, Expected, (ctx: CorpusContext) => CallOptions, IdMethod][] = [
    // With tenant A's key the call runs as tenant A whatever the headers say: B's invoice stays NotFound.
    [
      "tenant B in invoicer-tenant-id with a guessed token, A's key",
      Code.NotFound,
      (ctx) => ({ headers: { [tenantHeader]: ctx.tenantBId, [internalTokenHeader]: "guessed-token-guessed-token" } }),
      "GetInvoice",
    ],
    [
      "tenant B in invoicer-tenant-id with the real token, A's key",
      Code.NotFound,
      (ctx) => ({ headers: { [tenantHeader]: ctx.tenantBId, [internalTokenHeader]: ctx.internalToken } }),
      "PayInvoice",
    ],
    [
      "tenant B in invoicer-tenant-id alone, A's key",
      Code.NotFound,
      (ctx) => ({ headers: { [tenantHeader]: ctx.tenantBId } }),
      "VoidInvoice",
    ],
    // Without a key the headers do not stand in for one, not even with the real internal token.
    [
      "the real internal token and tenant B, no key",
      Code.Unauthenticated,
      (ctx) => ({ auth: null, headers: { [tenantHeader]: ctx.tenantBId, [internalTokenHeader]: ctx.internalToken } }),
      "GetInvoice",
    ],
    [
      "a guessed internal token and tenant B, no key",
      Code.Unauthenticated,
      (ctx) => ({ auth: null, headers: { [tenantHeader]: ctx.tenantBId, [internalTokenHeader]: "x".repeat(48) } }),
      "GetInvoiceDocument",
    ],
    [
      "the real internal token with a wrong key",
      Code.Unauthenticated,
      (ctx) => ({
        auth: `Bearer inv_${"B".repeat(32)}`,
        headers: { [tenantHeader]: ctx.tenantBId, [internalTokenHeader]: ctx.internalToken },
      }),
      "PayInvoice",
    ],
  ];
  for (const [what, expect, opts, method] of variants) {
    for (const transport of rpcTransports) {
      cases.push({
        category,
        name: `${what}: ${method} of B's invoice [${transport}]`,
        transport,
        expect,
        build: (ctx) => idCall(transport, method, ctx.invoiceOfB, ctx, opts(ctx)),
      });
    }
  }
  // Header names in other cases (HTTP/1.1 keeps what the client wrote) and REST.
  cases.push(
    {
      category,
      name: "Invoicer-Tenant-Id / Invoicer-Internal-Token in mixed case, A's key: GetInvoice of B's invoice [connect-json]",
      transport: "connect-json",
      expect: Code.NotFound,
      build: (ctx) =>
        idCall("connect-json", "GetInvoice", ctx.invoiceOfB, ctx, {
          headers: { "Invoicer-Tenant-Id": ctx.tenantBId, "INVOICER-INTERNAL-TOKEN": ctx.internalToken },
        }),
    },
    {
      category,
      name: "tenant B in invoicer-tenant-id with the real token, A's key: GET B's invoice [rest]",
      transport: "rest",
      expect: { http: 404 },
      build: (ctx) =>
        rest("GET", `/v1/invoices/${ctx.invoiceOfB}`, ctx, {
          headers: { [tenantHeader]: ctx.tenantBId, [internalTokenHeader]: ctx.internalToken },
        }),
    },
    {
      category,
      name: "tenant B in invoicer-tenant-id, A's key: GET B's PDF [rest]",
      transport: "rest",
      expect: { http: 404 },
      build: (ctx) => rest("GET", `/v1/invoices/${ctx.invoiceOfB}/pdf`, ctx, { headers: { [tenantHeader]: ctx.tenantBId } }),
    },
    {
      category,
      name: "the real internal token and tenant B, no key: list [rest]",
      transport: "rest",
      expect: { http: 401 },
      build: (ctx) =>
        rest("GET", "/v1/invoices", ctx, {
          auth: null,
          headers: { [tenantHeader]: ctx.tenantBId, [internalTokenHeader]: ctx.internalToken },
        }),
    },
    {
      category,
      name: "tenant B in invoicer-tenant-id with the real token, A's key: GetInvoice of B's invoice [grpc-js]",
      transport: "grpc",
      expect: Code.NotFound,
      build: (ctx) =>
        grpcJs(
          "GetInvoice",
          { id: ctx.invoiceOfB },
          { authorization: `Bearer ${ctx.keyA}`, [tenantHeader]: ctx.tenantBId, [internalTokenHeader]: ctx.internalToken },
        ),
    },
  );
  return cases;
}

function internalServices(): HostileCase[] {
  const category = "internal services through the gateway";
  const cases: HostileCase[] = [];
  const calls: [string, (t: RpcTransport, ctx: CorpusContext, opts: CallOptions) => WireRequest][] = [
    [
      "ApiKeyService/AuthenticateApiKey",
      (t, ctx, o) => rpc(t, "/invoicer.v1.ApiKeyService/AuthenticateApiKey", AuthenticateApiKeyRequestSchema, { apiKey: ctx.keyA }, ctx, o),
    ],
    [
      "InvoiceDocumentService/AttachDocuments",
      (t, ctx, o) =>
        rpc(
          t,
          "/invoicer.v1.InvoiceDocumentService/AttachDocuments",
          AttachDocumentsRequestSchema,
          {
            eventId: missingId,
            tenantId: ctx.tenantBId,
            invoiceId: ctx.invoiceOfB,
            documents: [{ format: DocumentFormat.PDF, content: Buffer.from("%PDF-1.7 forged") }],
          },
          ctx,
          o,
        ),
    ],
    [
      "grpc.health.v1.Health/Check",
      (t, ctx, o) => raw(t, "/grpc.health.v1.Health/Check", t === "connect-json" ? Buffer.from("{}") : new Uint8Array(), ctx, o),
    ],
  ];
  for (const [what, call] of calls) {
    for (const transport of rpcTransports) {
      cases.push({
        category,
        name: `${what} with A's key [${transport}]`,
        transport,
        expect: Code.Unimplemented,
        build: (ctx) => call(transport, ctx, {}),
      });
      cases.push({
        category,
        name: `${what} with the real internal token, no key [${transport}]`,
        transport,
        expect: Code.Unimplemented,
        build: (ctx) =>
          call(transport, ctx, { auth: null, headers: { [internalTokenHeader]: ctx.internalToken, [tenantHeader]: ctx.tenantBId } }),
      });
    }
  }
  const json = Buffer.from("{}");
  cases.push(
    {
      category,
      name: "an internal method's name under the public service [connect-json]",
      transport: "connect-json",
      expect: Code.Unimplemented,
      build: (ctx) => raw("connect-json", `${service}/AttachDocuments`, json, ctx),
    },
    {
      category,
      name: "a path climbing out of the public service with /../ [connect-json]",
      transport: "connect-json",
      expect: Code.Unimplemented,
      build: (ctx) => raw("connect-json", `${service}/../invoicer.v1.ApiKeyService/AuthenticateApiKey`, json, ctx),
    },
    {
      category,
      name: "a path climbing out of the public service with /../ [grpc]",
      transport: "grpc",
      expect: Code.Unimplemented,
      build: (ctx) => raw("grpc", `${service}/../invoicer.v1.ApiKeyService/AuthenticateApiKey`, new Uint8Array(), ctx),
    },
    {
      category,
      name: "a path climbing out with percent-encoded slashes [connect-json]",
      transport: "connect-json",
      expect: Code.Unimplemented,
      build: (ctx) => raw("connect-json", `${service}/..%2Finvoicer.v1.ApiKeyService%2FAuthenticateApiKey`, json, ctx),
    },
    {
      category,
      name: "a path climbing out with percent-encoded slashes [grpc-web]",
      transport: "grpc-web",
      expect: Code.Unimplemented,
      build: (ctx) => raw("grpc-web", `${service}/..%2Finvoicer.v1.ApiKeyService%2FAuthenticateApiKey`, new Uint8Array(), ctx),
    },
    {
      category,
      name: "a method that does not exist [connect-binary]",
      transport: "connect-binary",
      expect: Code.Unimplemented,
      build: (ctx) => raw("connect-binary", `${service}/DropAllInvoices`, new Uint8Array(), ctx),
    },
    {
      category,
      name: "a method that does not exist [grpc-web]",
      transport: "grpc-web",
      expect: Code.Unimplemented,
      build: (ctx) => raw("grpc-web", `${service}/DropAllInvoices`, new Uint8Array(), ctx),
    },
    {
      category,
      name: "a method that does not exist [grpc]",
      transport: "grpc",
      expect: Code.Unimplemented,
      build: (ctx) => raw("grpc", `${service}/DropAllInvoices`, new Uint8Array(), ctx),
    },
    {
      category,
      name: "a method path with a trailing slash [connect-json]",
      transport: "connect-json",
      expect: Code.Unimplemented,
      build: (ctx) => raw("connect-json", `${service}/GetInvoice/`, json, ctx),
    },
    {
      category,
      name: "PUT on a method [connect-json]",
      transport: "connect-json",
      // What Connect servers answer to a verb RPCs do not use.
      expect: { http: 405 },
      build: (ctx) => ({ ...raw("connect-json", `${service}/GetInvoice`, json, ctx), method: "PUT" }),
    },
  );
  return cases;
}

function tenantIsolation(): HostileCase[] {
  const category = "another tenant's invoice";
  const cases: HostileCase[] = [];
  for (const method of idMethods) {
    for (const transport of rpcTransports) {
      cases.push({
        category,
        name: `${method} of B's invoice with A's key [${transport}]`,
        transport,
        expect: Code.NotFound,
        build: (ctx) => idCall(transport, method, ctx.invoiceOfB, ctx),
      });
    }
    const request = (ctx: CorpusContext) =>
      method === "GetInvoiceDocument"
        ? { id: ctx.invoiceOfB, format: "DOCUMENT_FORMAT_DOCX" }
        : method === "VoidInvoice"
          ? { id: ctx.invoiceOfB, reason: "mine now" }
          : { id: ctx.invoiceOfB };
    cases.push({
      category,
      name: `${method} of B's invoice with A's key [grpc-js]`,
      transport: "grpc",
      expect: Code.NotFound,
      build: (ctx) => grpcJs(method, request(ctx), { authorization: `Bearer ${ctx.keyA}` }),
    });
  }
  cases.push(...creditOfAnotherTenant(category));
  for (const suffix of ["", "/pdf", "/docx"]) {
    cases.push({
      category,
      name: `GET /v1/invoices/<B's id>${suffix} with A's key [rest]`,
      transport: "rest",
      expect: { http: 404 },
      build: (ctx) => rest("GET", `/v1/invoices/${ctx.invoiceOfB}${suffix}`, ctx),
    });
  }
  return cases;
}

function malformedIds(): HostileCase[] {
  const category = "malformed UUIDs";
  const ids: [string, string][] = [
    ["an empty id", ""],
    ["not a UUID", "not-a-uuid"],
    ["an upper-case UUID", "00000000-0000-4000-8000-00000000000A"],
    ["a UUID without dashes", "00000000000040008000000000000000"],
    ["a UUID in braces", `{${missingId}}`],
    ["a UUID with a trailing newline", `${missingId}\n`],
    ["a UUID with one digit too many", `${missingId}0`],
    ["an SQL-looking id", "' OR '1'='1' --"],
    ["an SQL-looking id with a UUID in front", `${missingId}' OR 1=1; --`],
    ["a path-looking id", "../../etc/passwd"],
    ["a NUL byte", "\u0000"],
    ["full-width digits", "０００００００００-００００-４０００-８０００-０００００００００００"],
    ["100 000 characters", "a".repeat(100_000)],
  ];
  const cases: HostileCase[] = [];
  ids.forEach(([what, id], i) => {
    for (const transport of rpcTransports) {
      const method = idMethods[(i + rpcTransports.indexOf(transport)) % idMethods.length]!;
      cases.push({
        category,
        name: `${what}: ${method} [${transport}]`,
        transport,
        expect: Code.InvalidArgument,
        build: (ctx) => idCall(transport, method, id, ctx),
      });
    }
  });
  const restIds: [string, string][] = [
    ["not a UUID", "not-a-uuid"],
    ["an upper-case UUID", "00000000-0000-4000-8000-00000000000A"],
    ["an SQL-looking id", encodeURIComponent("' OR '1'='1' --")],
    ["a NUL byte", "%00"],
    ["an encoded path", "..%2F..%2Fetc%2Fpasswd"],
  ];
  restIds.forEach(([what, id], i) => {
    const suffix = ["", "/pdf", "/docx"][i % 3];
    cases.push({
      category,
      name: `${what}: GET /v1/invoices/<id>${suffix} [rest]`,
      transport: "rest",
      expect: { http: 400 },
      build: (ctx) => rest("GET", `/v1/invoices/${id}${suffix}`, ctx),
    });
  });
  cases.push({
    category,
    name: "a bad percent-escape in the id [rest]",
    transport: "rest",
    expect: { http: 400 },
    build: (ctx) => rest("GET", "/v1/invoices/%zz", ctx),
  });
  // A well-formed id that names nothing: NotFound, the same answer as for B's invoice.
  for (const transport of rpcTransports) {
    for (const method of idMethods) {
      cases.push({
        category,
        name: `a well-formed id of no invoice: ${method} [${transport}]`,
        transport,
        expect: Code.NotFound,
        build: (ctx) => idCall(transport, method, missingId, ctx),
      });
    }
  }
  return cases;
}

function contentTypeCases(): HostileCase[] {
  const category = "wrong and missing content types";
  const get = (ctx: CorpusContext) => Buffer.from(JSON.stringify({ id: ctx.invoiceOfB }));
  const connect = (name: string, contentType: string | undefined, path = "GetInvoice"): HostileCase => ({
    category,
    name: `${name} [connect-json]`,
    transport: "connect-json",
    expect: { http: 415 },
    build: (ctx) => {
      const headers: Record<string, string> = { authorization: `Bearer ${ctx.keyA}` };
      if (contentType !== undefined) headers["content-type"] = contentType;
      return { kind: "wire", path: methodPath(path), headers, body: get(ctx) };
    },
  });
  const grpc = (name: string, contentType: string | undefined): HostileCase => ({
    category,
    name: `${name} [grpc]`,
    transport: "grpc",
    expect: { http: 415 },
    build: (ctx) => {
      const headers: Record<string, string> = { authorization: `Bearer ${ctx.keyA}`, te: "trailers" };
      if (contentType !== undefined) headers["content-type"] = contentType;
      return {
        kind: "wire",
        http2: true,
        path: methodPath("GetInvoice"),
        headers,
        body: envelope(toBinary(GetInvoiceRequestSchema, create(GetInvoiceRequestSchema, { id: missingId }))),
      };
    },
  });
  const restCase = (name: string, contentType: string | undefined): HostileCase => {
    const body = Buffer.from(invoiceJson(invoice()));
    return {
      category,
      name: `${name} [rest]`,
      transport: "rest",
      expect: { http: 415 },
      build: (ctx) => {
        const headers: Record<string, string> = { authorization: `Bearer ${ctx.keyA}` };
        if (contentType !== undefined) headers["content-type"] = contentType;
        return { kind: "wire", method: "POST", path: "/v1/invoices", headers, body };
      },
    };
  };
  return [
    connect("no Content-Type", undefined),
    connect("text/plain", "text/plain"),
    connect("application/xml", "application/xml"),
    connect("a form", "application/x-www-form-urlencoded"),
    connect("multipart", "multipart/form-data; boundary=x"),
    connect("JSON in UTF-16", "application/json; charset=utf-16"),
    connect("application/connect+json on a unary method", "application/connect+json"),
    connect("application/json on the streaming method", "application/json", "WatchInvoices"),
    connect("gRPC-web text (not served)", "application/grpc-web-text"),
    grpc("no Content-Type", undefined),
    grpc("text/plain", "text/plain"),
    grpc("an unknown gRPC codec", "application/grpc+xml"),
    restCase("no Content-Type", undefined),
    restCase("text/plain", "text/plain"),
    restCase("application/xml", "application/xml"),
    restCase("multipart", "multipart/form-data; boundary=x"),
    {
      // gRPC needs HTTP/2 trailers; over HTTP/1.1 the proxy cannot carry the status back.
      category,
      name: "application/grpc over HTTP/1.1: GetInvoice of no invoice [grpc]",
      transport: "grpc",
      expect: Code.Unimplemented,
      build: (ctx) => ({
        kind: "wire",
        path: methodPath("GetInvoice"),
        headers: { authorization: `Bearer ${ctx.keyA}`, "content-type": "application/grpc" },
        body: envelope(toBinary(GetInvoiceRequestSchema, create(GetInvoiceRequestSchema, { id: missingId }))),
      }),
    },
    {
      category,
      name: "application/grpc over HTTP/1.1: ListInvoices with a bad page size [grpc]",
      transport: "grpc",
      expect: Code.Unimplemented,
      build: (ctx) => ({
        kind: "wire",
        path: methodPath("ListInvoices"),
        headers: { authorization: `Bearer ${ctx.keyA}`, "content-type": "application/grpc" },
        body: envelope(toBinary(ListInvoicesRequestSchema, create(ListInvoicesRequestSchema, { pageSize: -1 }))),
      }),
    },
  ];
}

/** CreateCreditNote of B's invoice with A's key, over every transport: NotFound, as for a missing invoice. */
function creditOfAnotherTenant(category: string): HostileCase[] {
  const request = (ctx: CorpusContext) => ({ idempotencyKey: "hostile-credit", invoiceId: ctx.invoiceOfB, reason: "mine now" });
  return [
    ...rpcTransports.map((transport): HostileCase => ({
      category,
      name: `CreateCreditNote of B's invoice with A's key [${transport}]`,
      transport,
      expect: Code.NotFound,
      build: (ctx) => rpc(transport, methodPath("CreateCreditNote"), CreateCreditNoteRequestSchema, request(ctx), ctx),
    })),
    {
      category,
      name: "CreateCreditNote of B's invoice with A's key [grpc-js]",
      transport: "grpc",
      expect: Code.NotFound,
      build: (ctx) =>
        grpcJs(
          "CreateCreditNote",
          { idempotency_key: "hostile-credit", invoice_id: ctx.invoiceOfB, reason: "mine now" },
          { authorization: `Bearer ${ctx.keyA}` },
        ),
    },
    {
      category,
      name: "POST /v1/invoices/<B's id>/credit-notes with A's key [rest]",
      transport: "rest",
      expect: { http: 404 },
      build: (ctx) =>
        rest("POST", `/v1/invoices/${ctx.invoiceOfB}/credit-notes`, ctx, {
          json: JSON.stringify({ idempotencyKey: "hostile-credit", reason: "mine now" }),
        }),
    },
  ];
}

function randomBytes(): HostileCase[] {
  const category = "random bytes";
  const rng = prng(0x1badb002);
  const cases: HostileCase[] = [];
  const lengths = [1, 7, 64, 333, 4096, 65_536];
  for (const transport of rpcTransports) {
    for (const length of lengths) {
      const bytes = rng.bytes(length);
      // Methods whose every decodable request is still invalid (an id must be a UUID, an invoice needs a key),
      // so bytes that happen to decode get the same answer.
      const method = ["CreateInvoice", "GetInvoice", "PayInvoice", "VoidInvoice"][rng.int(4)]!;
      cases.push({
        category,
        name: `${length} random bytes as ${method} [${transport}]`,
        transport,
        expect: Code.InvalidArgument,
        build: (ctx) => raw(transport, methodPath(method), bytes, ctx),
      });
    }
  }
  for (const length of [1, 100, 5000]) {
    const bytes = rng.bytes(length);
    cases.push({
      category,
      name: `${length} random bytes as an invoice [rest]`,
      transport: "rest",
      expect: { http: 400 },
      build: (ctx) => rest("POST", "/v1/invoices", ctx, { json: bytes }),
    });
  }
  // Printable noise: JSON-ish text that is not JSON.
  const printable = Buffer.from(Array.from(rng.bytes(2000), (b) => 0x20 + (b % 95)));
  cases.push(
    {
      category,
      name: "2000 random printable characters [connect-json]",
      transport: "connect-json",
      expect: Code.InvalidArgument,
      build: (ctx) => raw("connect-json", methodPath("CreateInvoice"), printable, ctx),
    },
    {
      category,
      name: "2000 random printable characters [rest]",
      transport: "rest",
      expect: { http: 400 },
      build: (ctx) => rest("POST", "/v1/invoices", ctx, { json: printable }),
    },
  );
  return cases;
}

function truncatedProtobuf(): HostileCase[] {
  const category = "truncated protobuf";
  const full = toBinary(CreateInvoiceRequestSchema, invoice());
  const cuts: number[] = [];
  // Cut points inside a field, each checked here to be undecodable (a cut between fields would decode).
  for (const wanted of [2, 12, 40, 90, full.length - 1]) {
    let at = Math.min(wanted, full.length - 1);
    while (at > 0 && decodes(full.subarray(0, at))) at--;
    if (at > 0 && !cuts.includes(at)) cuts.push(at);
  }
  const cases: HostileCase[] = [];
  for (const at of cuts) {
    for (const transport of ["connect-binary", "grpc-web", "grpc"] as const) {
      const bytes = full.slice(0, at);
      cases.push({
        category,
        name: `an invoice cut at byte ${at} of ${full.length} [${transport}]`,
        transport,
        expect: Code.InvalidArgument,
        build: (ctx) => raw(transport, methodPath("CreateInvoice"), bytes, ctx),
      });
    }
  }
  // Envelopes cut short: a partial header, a header alone, and a header promising more than comes.
  for (const transport of ["grpc-web", "grpc"] as const) {
    cases.push(
      {
        category,
        name: `an envelope header promising 50 bytes, sending none [${transport}]`,
        transport,
        expect: Code.InvalidArgument,
        build: (ctx) => unframed(transport, methodPath("CreateInvoice"), envelope(new Uint8Array(), 0, 50), ctx),
      },
      {
        category,
        name: `3 bytes of an envelope header [${transport}]`,
        transport,
        expect: Code.InvalidArgument,
        build: (ctx) => unframed(transport, methodPath("CreateInvoice"), Buffer.from([0, 0, 0]), ctx),
      },
      {
        category,
        name: `an envelope promising ${full.length + 100} bytes, sending ${full.length} [${transport}]`,
        transport,
        expect: Code.InvalidArgument,
        build: (ctx) => unframed(transport, methodPath("CreateInvoice"), envelope(full, 0, full.length + 100), ctx),
      },
    );
  }
  cases.push(
    {
      category,
      name: "a streaming envelope promising 50 bytes, sending 10 [connect-binary]",
      transport: "connect-binary",
      expect: Code.InvalidArgument,
      build: (ctx) =>
        unframed("connect-binary", methodPath("WatchInvoices"), envelope(new Uint8Array(10), 0, 50), ctx, {
          contentType: "application/connect+proto",
        }),
    },
    {
      category,
      name: "a streaming envelope header promising 50 bytes, sending none [connect-binary]",
      transport: "connect-binary",
      expect: Code.InvalidArgument,
      build: (ctx) =>
        unframed("connect-binary", methodPath("WatchInvoices"), envelope(new Uint8Array(), 0, 50), ctx, {
          contentType: "application/connect+proto",
        }),
    },
  );
  // An 11-byte varint: no int64 has one.
  const overlongVarint = Buffer.from([0x2a, 0x0c, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  for (const transport of ["connect-binary", "grpc-web", "grpc"] as const) {
    cases.push({
      category,
      name: `a quantity varint of 11 bytes [${transport}]`,
      transport,
      expect: Code.InvalidArgument,
      build: (ctx) => raw(transport, methodPath("CreateInvoice"), overlongVarint, ctx),
    });
  }
  // Unknown fields opening groups 100 000 deep: the decoder must refuse, not overflow its stack.
  const groups = Buffer.alloc(100_000, 0x7b);
  for (const transport of ["connect-binary", "grpc"] as const) {
    cases.push({
      category,
      name: `100 000 nested start-group tags [${transport}]`,
      transport,
      expect: Code.InvalidArgument,
      build: (ctx) => raw(transport, methodPath("GetInvoice"), groups, ctx),
    });
  }
  return cases;
}

function decodes(bytes: Uint8Array): boolean {
  try {
    fromBinary(CreateInvoiceRequestSchema, bytes);
    return true;
  } catch {
    return false;
  }
}

function framing(): HostileCase[] {
  const category = "framing, compression and protocol headers";
  const get = toBinary(GetInvoiceRequestSchema, create(GetInvoiceRequestSchema, { id: missingId }));
  const cases: HostileCase[] = [];
  // The compressed flag with no compression negotiated: the caller's mistake.
  for (const transport of ["grpc-web", "grpc"] as const) {
    cases.push({
      category,
      name: `the compressed flag without grpc-encoding [${transport}]`,
      transport,
      expect: Code.InvalidArgument,
      build: (ctx) => unframed(transport, methodPath("GetInvoice"), envelope(get, 1), ctx),
    });
  }
  cases.push({
    category,
    name: "the compressed flag without connect-content-encoding, streaming [connect-binary]",
    transport: "connect-binary",
    expect: Code.InvalidArgument,
    build: (ctx) =>
      unframed("connect-binary", methodPath("WatchInvoices"), envelope(new Uint8Array(), 1), ctx, {
        contentType: "application/connect+proto",
      }),
  });
  // Compressed bodies that are not gzip.
  for (const transport of ["grpc-web", "grpc"] as const) {
    cases.push({
      category,
      name: `grpc-encoding gzip with a body that is not gzip [${transport}]`,
      transport,
      expect: Code.InvalidArgument,
      build: (ctx) => unframed(transport, methodPath("GetInvoice"), envelope(get, 1), ctx, { headers: { "grpc-encoding": "gzip" } }),
    });
  }
  cases.push({
    category,
    name: "content-encoding gzip with a body that is not gzip [connect-binary]",
    transport: "connect-binary",
    expect: Code.InvalidArgument,
    build: (ctx) => unframed("connect-binary", methodPath("GetInvoice"), get, ctx, { headers: { "content-encoding": "gzip" } }),
  });
  // Compression the server does not offer: Unimplemented, as both specs say.
  cases.push(
    {
      category,
      name: "content-encoding zstd [connect-binary]",
      transport: "connect-binary",
      expect: Code.Unimplemented,
      build: (ctx) => unframed("connect-binary", methodPath("GetInvoice"), get, ctx, { headers: { "content-encoding": "zstd" } }),
    },
    {
      category,
      name: "grpc-encoding zstd [grpc]",
      transport: "grpc",
      expect: Code.Unimplemented,
      build: (ctx) => unframed("grpc", methodPath("GetInvoice"), envelope(get, 1), ctx, { headers: { "grpc-encoding": "zstd" } }),
    },
  );
  // No request message, or two, on a unary method: Unimplemented, as connect-go and connect-es answer.
  for (const transport of ["grpc-web", "grpc"] as const) {
    cases.push(
      {
        category,
        name: `no request message on a unary method [${transport}]`,
        transport,
        expect: Code.Unimplemented,
        build: (ctx) => unframed(transport, methodPath("GetInvoice"), undefined, ctx),
      },
      {
        category,
        name: `two request messages on a unary method [${transport}]`,
        transport,
        expect: Code.Unimplemented,
        build: (ctx) => unframed(transport, methodPath("GetInvoice"), [envelope(get), envelope(get)], ctx),
      },
    );
  }
  cases.push(
    {
      category,
      name: "a trailer frame from the client instead of a message [grpc-web]",
      transport: "grpc-web",
      expect: Code.Unimplemented,
      build: (ctx) => unframed("grpc-web", methodPath("GetInvoice"), envelope(Buffer.from("grpc-status: 0\r\n"), 0x80), ctx),
    },
    {
      category,
      name: "no request message on the streaming method [connect-binary]",
      transport: "connect-binary",
      expect: Code.Unimplemented,
      build: (ctx) => unframed("connect-binary", methodPath("WatchInvoices"), undefined, ctx, { contentType: "application/connect+proto" }),
    },
    {
      category,
      name: "an undecodable message on the streaming method [connect-binary]",
      transport: "connect-binary",
      expect: Code.InvalidArgument,
      build: (ctx) =>
        unframed("connect-binary", methodPath("WatchInvoices"), envelope(Buffer.from([0xff, 0xff])), ctx, {
          contentType: "application/connect+proto",
        }),
    },
    {
      category,
      name: "malformed JSON on the streaming method [connect-json]",
      transport: "connect-json",
      expect: Code.InvalidArgument,
      build: (ctx) =>
        unframed("connect-json", methodPath("WatchInvoices"), envelope(Buffer.from("{")), ctx, { contentType: "application/connect+json" }),
    },
    // Timeouts that are not timeouts.
    {
      category,
      name: "connect-timeout-ms: abc [connect-json]",
      transport: "connect-json",
      expect: Code.InvalidArgument,
      build: (ctx) => raw("connect-json", methodPath("ListInvoices"), Buffer.from("{}"), ctx, { headers: { "connect-timeout-ms": "abc" } }),
    },
    {
      category,
      name: "connect-timeout-ms: -5 [connect-binary]",
      transport: "connect-binary",
      expect: Code.InvalidArgument,
      build: (ctx) => raw("connect-binary", methodPath("ListInvoices"), new Uint8Array(), ctx, { headers: { "connect-timeout-ms": "-5" } }),
    },
    {
      category,
      name: "grpc-timeout: 999999999999S [grpc]",
      transport: "grpc",
      expect: Code.InvalidArgument,
      build: (ctx) => raw("grpc", methodPath("ListInvoices"), new Uint8Array(), ctx, { headers: { "grpc-timeout": "999999999999S" } }),
    },
    {
      category,
      name: "grpc-timeout: soon [grpc-web]",
      transport: "grpc-web",
      expect: Code.InvalidArgument,
      build: (ctx) => raw("grpc-web", methodPath("ListInvoices"), new Uint8Array(), ctx, { headers: { "grpc-timeout": "soon" } }),
    },
  );
  // Connect GET (side-effect-free methods only), with broken query parameters.
  const getCall = (name: string, query: string, expect: Expected, method = "GetInvoice"): HostileCase => ({
    category,
    name: `GET ${method}?${name} [connect-json]`,
    transport: "connect-json",
    expect,
    build: (ctx) => ({
      kind: "wire",
      method: "GET",
      path: `${methodPath(method)}?${query}`,
      headers: { authorization: `Bearer ${ctx.keyA}` },
    }),
  });
  cases.push(
    getCall("message that is not base64", "connect=v1&encoding=proto&base64=1&message=%25%25%25", Code.InvalidArgument),
    getCall("message that is not JSON", "connect=v1&encoding=json&message=%7B", Code.InvalidArgument),
    getCall("message that is not UTF-8", "connect=v1&encoding=json&message=%FF%FE", Code.InvalidArgument),
    getCall(
      "compression=gzip with a message that is not gzip",
      "connect=v1&encoding=proto&base64=1&compression=gzip&message=AAAA",
      Code.InvalidArgument,
    ),
    getCall("no encoding", "connect=v1&message=%7B%7D", { http: 415 }),
    getCall("encoding=xml", "connect=v1&encoding=xml&message=%7B%7D", { http: 415 }),
    getCall(
      "an SQL-looking id",
      `connect=v1&encoding=json&message=${encodeURIComponent(JSON.stringify({ id: "1; select * from invoices" }))}`,
      Code.InvalidArgument,
    ),
    getCall("a method with side effects", "connect=v1&encoding=json&message=%7B%7D", { http: 405 }, "PayInvoice"),
  );
  return cases;
}

function bodyLimits(): HostileCase[] {
  const category = "bodies over the limit";
  const cases: HostileCase[] = [];
  const over = 2 * MiB;
  // Made on first use (they are large), then the same bytes on every build.
  const jsonOver = () => once(() => Buffer.from(invoiceJson(invoice((r) => (r.note = "n".repeat(over))))));
  const binOver = () =>
    once(() =>
      toBinary(
        CreateInvoiceRequestSchema,
        invoice((r) => (r.note = "n".repeat(over))),
      ),
    );
  for (const chunked of [false, true]) {
    const how = chunked ? "chunked, no length declared" : "with Content-Length";
    const [json1, bin1, bin2, json2] = [jsonOver(), binOver(), binOver(), jsonOver()];
    cases.push(
      {
        category,
        name: `a 2 MiB invoice, ${how} [connect-json]`,
        transport: "connect-json",
        expect: Code.ResourceExhausted,
        build: (ctx) => raw("connect-json", methodPath("CreateInvoice"), json1(), ctx, { chunked }),
      },
      {
        category,
        name: `a 2 MiB invoice, ${how} [connect-binary]`,
        transport: "connect-binary",
        expect: Code.ResourceExhausted,
        build: (ctx) => raw("connect-binary", methodPath("CreateInvoice"), bin1(), ctx, { chunked }),
      },
      {
        category,
        name: `a 2 MiB invoice, ${how} [grpc-web]`,
        transport: "grpc-web",
        expect: Code.ResourceExhausted,
        build: (ctx) => raw("grpc-web", methodPath("CreateInvoice"), bin2(), ctx, { chunked }),
      },
      {
        category,
        name: `a 2 MiB invoice, ${how} [rest]`,
        transport: "rest",
        expect: { http: 413 },
        build: (ctx) => rest("POST", "/v1/invoices", ctx, { json: json2(), chunked }),
      },
    );
  }
  const [bin3, bin4, json3] = [binOver(), binOver(), jsonOver()];
  cases.push(
    {
      category,
      name: "a 2 MiB invoice, no length declared [grpc]",
      transport: "grpc",
      expect: Code.ResourceExhausted,
      build: (ctx) => raw("grpc", methodPath("CreateInvoice"), bin3(), ctx),
    },
    {
      category,
      name: "a 2 MiB invoice with content-length [grpc]",
      transport: "grpc",
      expect: Code.ResourceExhausted,
      build: (ctx) => {
        const body = bin4();
        return raw("grpc", methodPath("CreateInvoice"), body, ctx, { headers: { "content-length": String(body.length + 5) } });
      },
    },
    {
      category,
      name: "2 MiB in 1 KiB chunks [connect-json]",
      transport: "connect-json",
      expect: Code.ResourceExhausted,
      build: (ctx) => {
        const body = json3();
        const chunks: Uint8Array[] = [];
        for (let at = 0; at < body.length; at += 1024) chunks.push(body.subarray(at, at + 1024));
        return { ...raw("connect-json", methodPath("CreateInvoice"), new Uint8Array(), ctx, { chunked: true }), body: chunks };
      },
    },
    {
      category,
      name: "one byte over the limit, with Content-Length [connect-json]",
      transport: "connect-json",
      expect: Code.ResourceExhausted,
      build: (ctx) => raw("connect-json", methodPath("CreateInvoice"), padJson("{}", ctx.maxBodyBytes + 1), ctx),
    },
    {
      // Exactly at the limit passes the gateway and the server's cap; then the empty invoice is invalid.
      category,
      name: "exactly at the limit, an empty invoice padded with spaces [connect-json]",
      transport: "connect-json",
      expect: Code.InvalidArgument,
      build: (ctx) => raw("connect-json", methodPath("CreateInvoice"), padJson("{}", ctx.maxBodyBytes), ctx),
    },
    {
      category,
      name: "one byte over the limit [rest]",
      transport: "rest",
      expect: { http: 413 },
      build: (ctx) => rest("POST", "/v1/invoices", ctx, { json: padJson("{}", ctx.maxBodyBytes + 1) }),
    },
    {
      category,
      name: "exactly at the limit, an empty invoice padded with spaces [rest]",
      transport: "rest",
      expect: { http: 400 },
      build: (ctx) => rest("POST", "/v1/invoices", ctx, { json: padJson("{}", ctx.maxBodyBytes) }),
    },
    // Envelopes declaring more than the server reads.
    {
      category,
      name: "an envelope declaring 2 GiB [grpc]",
      transport: "grpc",
      expect: Code.ResourceExhausted,
      build: (ctx) => unframed("grpc", methodPath("CreateInvoice"), envelope(Buffer.from([10, 1, 97]), 0, 0x7fffffff), ctx),
    },
    {
      category,
      name: "an envelope declaring 2 GiB [grpc-web]",
      transport: "grpc-web",
      expect: Code.ResourceExhausted,
      build: (ctx) => unframed("grpc-web", methodPath("CreateInvoice"), envelope(Buffer.from([10, 1, 97]), 0, 0x7fffffff), ctx),
    },
    {
      category,
      name: "an envelope declaring 4 GiB - 1 on the streaming method [connect-binary]",
      transport: "connect-binary",
      expect: Code.ResourceExhausted,
      build: (ctx) =>
        unframed("connect-binary", methodPath("WatchInvoices"), envelope(new Uint8Array(), 0, 0xffffffff), ctx, {
          contentType: "application/connect+proto",
        }),
    },
    // Small on the wire, huge once inflated.
    {
      category,
      name: "a gzip bomb, 8 MiB inflated [connect-binary]",
      transport: "connect-binary",
      expect: Code.ResourceExhausted,
      build: (ctx) =>
        unframed("connect-binary", methodPath("CreateInvoice"), gzipSync(Buffer.alloc(8 * MiB)), ctx, {
          headers: { "content-encoding": "gzip" },
        }),
    },
    {
      category,
      name: "a gzip bomb, 8 MiB inflated [grpc]",
      transport: "grpc",
      expect: Code.ResourceExhausted,
      build: (ctx) =>
        unframed("grpc", methodPath("CreateInvoice"), envelope(gzipSync(Buffer.alloc(8 * MiB)), 1), ctx, {
          headers: { "grpc-encoding": "gzip" },
        }),
    },
    {
      category,
      name: "a gzip bomb, 8 MiB inflated [grpc-web]",
      transport: "grpc-web",
      expect: Code.ResourceExhausted,
      build: (ctx) =>
        unframed("grpc-web", methodPath("CreateInvoice"), envelope(gzipSync(Buffer.alloc(8 * MiB)), 1), ctx, {
          headers: { "grpc-encoding": "gzip" },
        }),
    },
    // A path longer than any header block the server reads.
    {
      category,
      name: "a 100 000-character id in the path [rest]",
      transport: "rest",
      expect: { http: 431 },
      build: (ctx) => rest("GET", `/v1/invoices/${"a".repeat(100_000)}`, ctx),
    },
  );
  return cases;
}

/** `json` padded with trailing spaces to exactly `size` bytes. */
function padJson(json: string, size: number): Uint8Array {
  return Buffer.concat([Buffer.from(json), Buffer.alloc(size - json.length, 0x20)]);
}

function deepAndHugeJson(): HostileCase[] {
  const category = "deep or huge JSON";
  const valid = () => JSON.parse(invoiceJson(invoice())) as Record<string, unknown>;
  return [
    ...jsonEverywhere(
      category,
      "lines nested 200 000 arrays deep",
      Code.InvalidArgument,
      () => `{"lines":${"[".repeat(200_000)}${"]".repeat(200_000)}}`,
    ),
    ...jsonEverywhere(
      category,
      "seller.name nested 100 000 objects deep",
      Code.InvalidArgument,
      () => `{"seller":${'{"name":'.repeat(100_000)}1${"}".repeat(100_001)}`,
    ),
    ...jsonEverywhere(
      category,
      "an unknown field nested 100 000 objects deep",
      Code.InvalidArgument,
      () => `{"x":${'{"x":'.repeat(100_000)}1${"}".repeat(100_001)}`,
    ),
    ...jsonEverywhere(category, "100 000 empty lines", Code.InvalidArgument, () =>
      JSON.stringify({ ...valid(), lines: Array.from({ length: 100_000 }, () => ({})) }),
    ),
    ...jsonEverywhere(category, "101 lines", Code.InvalidArgument, () =>
      JSON.stringify({
        ...valid(),
        lines: Array.from({ length: 101 }, () => ({ description: "x", quantity: "1", unitPriceMinor: "1", vatRateBp: 0 })),
      }),
    ),
    ...jsonEverywhere(category, "a 900 000-character seller name", Code.InvalidArgument, () =>
      JSON.stringify({ ...valid(), seller: { ...(valid().seller as object), name: "N".repeat(900_000) } }),
    ),
    ...jsonEverywhere(category, "a quantity of 100 000 digits", Code.InvalidArgument, () =>
      invoiceJson(invoice()).replace('"quantity":"3"', `"quantity":${"9".repeat(100_000)}`),
    ),
    ...jsonEverywhere(category, "a quantity of 1e999", Code.InvalidArgument, () =>
      invoiceJson(invoice()).replace('"quantity":"3"', '"quantity":1e999'),
    ),
    ...jsonEverywhere(category, "50 000 keys in one object", Code.InvalidArgument, () =>
      JSON.stringify({ ...Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, i])), idempotencyKey: "" }),
    ),
    ...jsonEverywhere(category, "a top-level array", Code.InvalidArgument, () => "[]"),
    ...jsonEverywhere(category, "a top-level string", Code.InvalidArgument, () => '"invoice"'),
    ...jsonEverywhere(category, "the currency twice, the second unknown", Code.InvalidArgument, () =>
      invoiceJson(invoice()).replace('"currencyCode":"EUR"', '"currencyCode":"EUR","currencyCode":"XYZ"'),
    ),
    ...jsonEverywhere(category, "a quantity of 1.5", Code.InvalidArgument, () =>
      invoiceJson(invoice()).replace('"quantity":"3"', '"quantity":1.5'),
    ),
    ...jsonEverywhere(category, "a VAT rate of 2^31 (over int32)", Code.InvalidArgument, () =>
      invoiceJson(invoice()).replace('"vatRateBp":1900', '"vatRateBp":2147483648'),
    ),
  ];
}

function invalidUtf8(): HostileCase[] {
  const category = "invalid UTF-8";
  const cases: HostileCase[] = [];
  // Each replaces the 4 bytes "@@@@" of an otherwise valid seller name.
  const sequences: [string, number[]][] = [
    ["a lone 0xFF byte", [0x41, 0xff, 0x42, 0x43]],
    ["an overlong encoding of '/' (C0 AF)", [0x41, 0xc0, 0xaf, 0x42]],
    ["a UTF-16 surrogate encoded in UTF-8 (ED A0 80)", [0xed, 0xa0, 0x80, 0x41]],
    ["a truncated 3-byte sequence (E2 82)", [0x41, 0x42, 0xe2, 0x82]],
  ];
  for (const [what, bytes] of sequences) {
    cases.push(
      ...jsonEverywhere(category, `${what} in the seller name`, Code.InvalidArgument, () => spliceJson("@@@@", Uint8Array.from(bytes))),
    );
    for (const transport of ["connect-binary", "grpc-web", "grpc"] as const) {
      const body = spliceBinary("@@@@", Uint8Array.from(bytes));
      cases.push({
        category,
        name: `${what} in the seller name, protobuf [${transport}]`,
        transport,
        expect: Code.InvalidArgument,
        build: (ctx) => raw(transport, methodPath("CreateInvoice"), body, ctx),
      });
    }
  }
  const grpcWebJson = envelope(spliceJson("@@@@", Uint8Array.from([0x41, 0xff, 0x42, 0x43])));
  cases.push(
    ...jsonEverywhere(category, "a lone surrogate escape \\ud800 in the seller name", Code.InvalidArgument, () =>
      invoiceJson(invoice((r) => (r.seller!.name = "@@@@"))).replace("@@@@", "A\\ud800B"),
    ),
    {
      category,
      name: "a lone 0xFF byte in the seller name, gRPC-web JSON [grpc-web]",
      transport: "grpc-web",
      expect: Code.InvalidArgument,
      build: (ctx) => unframed("grpc-web", methodPath("CreateInvoice"), grpcWebJson, ctx, { contentType: "application/grpc-web+json" }),
    },
  );
  return cases;
}

function overlongStrings(): HostileCase[] {
  const category = "overlong strings";
  const fields: [string, (r: CreateInvoiceRequest) => void][] = [
    ["a 129-character idempotency key", (r) => (r.idempotencyKey = "k".repeat(129))],
    ["a 201-character seller name", (r) => (r.seller!.name = "N".repeat(201))],
    ["a 201-emoji buyer name", (r) => (r.buyer!.name = "\u{1F600}".repeat(201))],
    ["a 201-character street", (r) => (r.seller!.address!.street = "S".repeat(201))],
    ["a 101-character city", (r) => (r.buyer!.address!.city = "C".repeat(101))],
    ["a 21-character postal code", (r) => (r.seller!.address!.postalCode = "1".repeat(21))],
    ["a 501-character line description", (r) => (r.lines[1]!.description = "D".repeat(501))],
    ["a 2001-character note", (r) => (r.note = "n".repeat(2001))],
    ["a 16-character VAT id", (r) => (r.seller!.vatId = "DE" + "1".repeat(14))],
  ];
  const cases = fields.flatMap(([what, mutate]) => createInvoiceEverywhere(category, what, Code.InvalidArgument, mutate));
  for (const transport of rpcTransports) {
    cases.push({
      category,
      name: `a 501-character void reason [${transport}]`,
      transport,
      expect: Code.InvalidArgument,
      build: (ctx) => rpc(transport, methodPath("VoidInvoice"), VoidInvoiceRequestSchema, { id: missingId, reason: "r".repeat(501) }, ctx),
    });
  }
  return cases;
}

function controlCharacters(): HostileCase[] {
  const category = "control characters";
  const fields: [string, (r: CreateInvoiceRequest) => void][] = [
    ["NUL in the seller name", (r) => (r.seller!.name = "Acme\u0000GmbH")],
    ["a newline in the buyer name", (r) => (r.buyer!.name = "Globex\nSARL")],
    ["ESC in the city", (r) => (r.seller!.address!.city = "Berlin\u001b[31m")],
    ["a tab in the postal code", (r) => (r.buyer!.address!.postalCode = "75\t001")],
    ["NUL in a line description", (r) => (r.lines[0]!.description = "Consulting\u0000")],
    ["DEL in a line description", (r) => (r.lines[0]!.description = "Consulting\u007f")],
    ["backspace in the note", (r) => (r.note = "paid\u0008\u0008\u0008\u0008unpaid")],
    ["a space in the idempotency key", (r) => (r.idempotencyKey = "key with space")],
    ["non-ASCII in the idempotency key", (r) => (r.idempotencyKey = "ключ-1")],
  ];
  const cases = fields.flatMap(([what, mutate]) => createInvoiceEverywhere(category, what, Code.InvalidArgument, mutate));
  for (const transport of rpcTransports) {
    cases.push({
      category,
      name: `NUL in a void reason [${transport}]`,
      transport,
      expect: Code.InvalidArgument,
      build: (ctx) => rpc(transport, methodPath("VoidInvoice"), VoidInvoiceRequestSchema, { id: missingId, reason: "fraud\u0000" }, ctx),
    });
  }
  return cases;
}

function unknownEnums(): HostileCase[] {
  const category = "unknown enum values";
  const cases: HostileCase[] = [];
  for (const transport of rpcTransports) {
    cases.push(
      {
        category,
        name: `ListInvoices status 99 [${transport}]`,
        transport,
        expect: Code.InvalidArgument,
        build: (ctx) => rpc(transport, methodPath("ListInvoices"), ListInvoicesRequestSchema, { status: 99 as InvoiceStatus }, ctx),
      },
      {
        category,
        name: `GetInvoiceDocument format 7 [${transport}]`,
        transport,
        expect: Code.InvalidArgument,
        build: (ctx) =>
          rpc(
            transport,
            methodPath("GetInvoiceDocument"),
            GetInvoiceDocumentRequestSchema,
            { id: ctx.invoiceOfB, format: 7 as DocumentFormat },
            ctx,
          ),
      },
      {
        category,
        name: `GetInvoiceDocument format UNSPECIFIED [${transport}]`,
        transport,
        expect: Code.InvalidArgument,
        build: (ctx) => rpc(transport, methodPath("GetInvoiceDocument"), GetInvoiceDocumentRequestSchema, { id: missingId }, ctx),
      },
    );
  }
  const json = (name: string, method: string, body: string): HostileCase => ({
    category,
    name: `${name} [connect-json]`,
    transport: "connect-json",
    expect: Code.InvalidArgument,
    build: (ctx) => raw("connect-json", methodPath(method), Buffer.from(body), ctx),
  });
  cases.push(
    json("ListInvoices status by an unknown name", "ListInvoices", '{"status":"INVOICE_STATUS_ARCHIVED"}'),
    json("ListInvoices status -1", "ListInvoices", '{"status":-1}'),
    json("ListInvoices status as an object", "ListInvoices", '{"status":{"$ne":null}}'),
    json("GetInvoiceDocument format by an unknown name", "GetInvoiceDocument", `{"id":"${missingId}","format":"DOCUMENT_FORMAT_XLSX"}`),
  );
  for (const [query, what] of [
    ["status=ARCHIVED", "an unknown status"],
    ["status=1", "a status by number"],
    ["status=constructor", "a status naming an object property"],
    ["status=PAID&status=VOID", "the status twice"],
  ] as const) {
    cases.push({
      category,
      name: `${what}: GET /v1/invoices?${query} [rest]`,
      transport: "rest",
      expect: { http: 400 },
      build: (ctx) => rest("GET", `/v1/invoices?${query}`, ctx),
    });
  }
  return cases;
}

const max64 = 2n ** 63n - 1n;
const min64 = -(2n ** 63n);

function amounts(): HostileCase[] {
  const category = "int64 edges and overflow";
  const line = (r: CreateInvoiceRequest) => r.lines[0]!;
  const cases: [string, (r: CreateInvoiceRequest) => void][] = [
    ["quantity 0", (r) => (line(r).quantity = 0n)],
    ["quantity -1", (r) => (line(r).quantity = -1n)],
    ["quantity 2^63-1", (r) => (line(r).quantity = max64)],
    ["quantity -2^63", (r) => (line(r).quantity = min64)],
    ["quantity 10^9 + 1", (r) => (line(r).quantity = 1_000_000_001n)],
    ["unit price -1", (r) => (line(r).unitPriceMinor = -1n)],
    ["unit price -2^63", (r) => (line(r).unitPriceMinor = min64)],
    ["unit price 2^63-1 times quantity 2", (r) => Object.assign(line(r), { unitPriceMinor: max64, quantity: 2n })],
    [
      "quantity 10^9 times unit price 2^62 (the product overflows)",
      (r) => Object.assign(line(r), { quantity: 1_000_000_000n, unitPriceMinor: 2n ** 62n }),
    ],
    [
      "two lines of 2^62 each at one rate (the sum overflows)",
      (r) => (r.lines = [0, 1].map(() => ({ ...line(r), quantity: 1n, unitPriceMinor: 2n ** 62n, vatRateBp: 1900 }))),
    ],
    [
      "two lines of 2^62 at different rates (the subtotal overflows)",
      (r) => (r.lines = [0, 700].map((vatRateBp) => ({ ...line(r), quantity: 1n, unitPriceMinor: 2n ** 62n, vatRateBp }))),
    ],
    [
      "unit price 2^63-1 at 19 % (the VAT pushes the total over)",
      (r) => (r.lines = [{ ...line(r), quantity: 1n, unitPriceMinor: max64, vatRateBp: 1900 }]),
    ],
    [
      "unit price 2^63-1 at 100 % (the VAT alone nearly overflows)",
      (r) => (r.lines = [{ ...line(r), quantity: 1n, unitPriceMinor: max64, vatRateBp: 10_000 }]),
    ],
    [
      "100 lines of 10^9 x 10^11",
      (r) => (r.lines = Array.from({ length: 100 }, () => ({ ...line(r), quantity: 1_000_000_000n, unitPriceMinor: 100_000_000_000n }))),
    ],
    ["VAT rate -1", (r) => (line(r).vatRateBp = -1)],
    ["VAT rate 10 001 bp", (r) => (line(r).vatRateBp = 10_001)],
    ["VAT rate 2^31-1", (r) => (line(r).vatRateBp = 2 ** 31 - 1)],
    ["VAT rate -2^31", (r) => (line(r).vatRateBp = -(2 ** 31))],
  ];
  const out = cases.flatMap(([what, mutate]) => createInvoiceEverywhere(category, what, Code.InvalidArgument, mutate));
  // Numbers no int64 holds can only be written in JSON.
  out.push(
    ...jsonEverywhere(category, "quantity 2^63", Code.InvalidArgument, () =>
      invoiceJson(invoice()).replace('"quantity":"3"', '"quantity":"9223372036854775808"'),
    ),
    ...jsonEverywhere(category, "unit price -2^63-1", Code.InvalidArgument, () =>
      invoiceJson(invoice()).replace('"unitPriceMinor":"15000"', '"unitPriceMinor":"-9223372036854775809"'),
    ),
    ...jsonEverywhere(category, "unit price 2^64", Code.InvalidArgument, () =>
      invoiceJson(invoice()).replace('"unitPriceMinor":"15000"', '"unitPriceMinor":"18446744073709551616"'),
    ),
  );
  // The same through a real gRPC client, which sends int64 as decimal strings.
  const viaGrpcJs = (name: string, mutate: (r: CreateInvoiceRequest) => void): HostileCase => {
    const request = toJson(CreateInvoiceRequestSchema, invoice(mutate), { useProtoFieldName: true }) as object;
    return {
      category,
      name: `${name} [grpc-js]`,
      transport: "grpc",
      expect: Code.InvalidArgument,
      build: (ctx) => grpcJs("CreateInvoice", request, { authorization: `Bearer ${ctx.keyA}` }),
    };
  };
  out.push(
    viaGrpcJs("quantity 2^63-1", (r) => (line(r).quantity = max64)),
    viaGrpcJs("unit price 2^63-1 at 19 %", (r) => (r.lines = [{ ...line(r), quantity: 1n, unitPriceMinor: max64, vatRateBp: 1900 }])),
    viaGrpcJs("unit price -1", (r) => (line(r).unitPriceMinor = -1n)),
  );
  return out;
}

function currencies(): HostileCase[] {
  const category = "unknown currency codes";
  const codes: [string, string][] = [
    ["no currency", ""],
    ["XYZ", "XYZ"],
    ["lower-case eur", "eur"],
    ["EURO", "EURO"],
    ["XXX (no currency)", "XXX"],
    ["EUR with a trailing space", "EUR "],
    ["the euro sign", "€"],
    ["__proto__", "__proto__"],
    ["toString", "toString"],
    ["an SQL-looking code", "EUR'; DROP TABLE invoices; --"],
  ];
  return codes.flatMap(([what, code]) => createInvoiceEverywhere(category, what, Code.InvalidArgument, (r) => (r.currencyCode = code)));
}

function partiesAndDates(): HostileCase[] {
  const category = "parties, countries and dates";
  const cases: [string, (r: CreateInvoiceRequest) => void][] = [
    ["no seller", (r) => (r.seller = undefined)],
    ["a buyer without an address", (r) => (r.buyer!.address = undefined)],
    ["no lines", (r) => (r.lines = [])],
    ["country XX", (r) => (r.seller!.address!.countryCode = "XX")],
    ["country in lower case", (r) => (r.buyer!.address!.countryCode = "fr")],
    ["an SQL-looking country", (r) => (r.buyer!.address!.countryCode = "FR'--")],
    ["an SQL-looking VAT id", (r) => (r.seller!.vatId = "DE1' OR '1'='1")],
    ["February 30th", (r) => (r.issueDate = "2026-02-30")],
    ["month 13", (r) => (r.supplyDate = "2026-13-01")],
    ["a two-digit year", (r) => (r.dueDate = "26-12-01")],
    ["a due date before the issue date", (r) => Object.assign(r, { issueDate: "2026-11-24", dueDate: "2026-11-23" })],
    ["issue date in year 0", (r) => (r.issueDate = "0000-01-01")],
    ["supply date in year 0", (r) => (r.supplyDate = "0000-06-15")],
    ["issue date 9999-12-31 (the default due date falls in year 10000)", (r) => (r.issueDate = "9999-12-31")],
  ];
  return cases.flatMap(([what, mutate]) => createInvoiceEverywhere(category, what, Code.InvalidArgument, mutate));
}

function sqlLooking(): HostileCase[] {
  const category = "SQL-looking strings where they are refused";
  const cases: HostileCase[] = [];
  const tokens: [string, string][] = [
    ["a token that is SQL", "' OR 1=1; --"],
    ["a base64 token of SQL", Buffer.from("n:1 OR 1=1").toString("base64url")],
    ["a base64 token of a number over int64", Buffer.from("n:9999999999999999999").toString("base64url")],
    ["a base64 token of 2^63", Buffer.from("n:9223372036854775808").toString("base64url")],
    ["a base64 token of 0", Buffer.from("n:0").toString("base64url")],
  ];
  tokens.forEach(([what, pageToken], i) => {
    const transport = rpcTransports[i % rpcTransports.length]!;
    cases.push({
      category,
      name: `ListInvoices page_token: ${what} [${transport}]`,
      transport,
      expect: Code.InvalidArgument,
      build: (ctx) => rpc(transport, methodPath("ListInvoices"), ListInvoicesRequestSchema, { pageToken }, ctx),
    });
    cases.push({
      category,
      name: `page_token: ${what} [rest]`,
      transport: "rest",
      expect: { http: 400 },
      build: (ctx) => rest("GET", `/v1/invoices?page_token=${encodeURIComponent(pageToken)}`, ctx),
    });
  });
  for (const transport of rpcTransports) {
    cases.push({
      category,
      name: `ListInvoices page_size -1 [${transport}]`,
      transport,
      expect: Code.InvalidArgument,
      build: (ctx) => rpc(transport, methodPath("ListInvoices"), ListInvoicesRequestSchema, { pageSize: -1 }, ctx),
    });
    cases.push({
      category,
      name: `ListInvoices page_size 2^31-1 [${transport}]`,
      transport,
      expect: Code.InvalidArgument,
      build: (ctx) => rpc(transport, methodPath("ListInvoices"), ListInvoicesRequestSchema, { pageSize: 2 ** 31 - 1 }, ctx),
    });
  }
  for (const [query, what] of [
    ["page_size=-1", "a negative page size"],
    ["page_size=abc", "a page size that is not a number"],
    ["page_size=101", "a page size over the maximum"],
    ["page_size=2147483648", "a page size over int32"],
    ["page_size=1e10", "a page size in exponent notation"],
    ["page_size=1%3B%20select%201", "an SQL-looking page size"],
    ["page_token=a&page_token=b", "the page token twice"],
    ["status=PAID'%20OR%20'1'%3D'1", "an SQL-looking status"],
  ] as const) {
    cases.push({
      category,
      name: `${what}: GET /v1/invoices?${query} [rest]`,
      transport: "rest",
      expect: { http: 400 },
      build: (ctx) => rest("GET", `/v1/invoices?${query}`, ctx),
    });
  }
  const keyless = invoiceJson(invoice((r) => (r.idempotencyKey = "")));
  cases.push(
    {
      category,
      name: "an SQL-looking Idempotency-Key header (a space in it) [rest]",
      transport: "rest",
      expect: { http: 400 },
      build: (ctx) => rest("POST", "/v1/invoices", ctx, { json: keyless, headers: { "idempotency-key": "1' OR '1'='1" } }),
    },
    ...createInvoiceEverywhere(
      category,
      "an SQL-looking idempotency key (with spaces)",
      Code.InvalidArgument,
      (r) => (r.idempotencyKey = "x'; DELETE FROM idempotency_keys; --"),
    ),
  );
  return cases;
}

/** The corpus, in the order it is sent. */
/** What reaches the gateway before any key is checked: reflection, bodies without a key, keys that are not keys. */
function beforeAuthentication(): HostileCase[] {
  const category = "before authentication";
  const reflection = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
  const ask = (symbol: string) =>
    toBinary(
      ServerReflectionRequestSchema,
      create(ServerReflectionRequestSchema, { messageRequest: { case: "fileContainingSymbol", value: symbol } }),
    );
  const r = prng(13);
  const cases: HostileCase[] = [
    {
      category,
      name: "reflection, a gzip bomb, 32 MiB inflated [grpc]",
      transport: "grpc",
      expect: Code.ResourceExhausted,
      build: (ctx) =>
        unframed("grpc", reflection, envelope(gzipSync(Buffer.alloc(32 * MiB)), 1), ctx, {
          auth: null,
          headers: { "grpc-encoding": "gzip" },
        }),
    },
    {
      category,
      name: "reflection, an envelope declaring 2 GiB [grpc]",
      transport: "grpc",
      expect: Code.ResourceExhausted,
      build: (ctx) => unframed("grpc", reflection, envelope(new Uint8Array(16), 0, 2 ** 31), ctx, { auth: null }),
    },
    {
      category,
      name: "reflection, a 70 KiB symbol name [grpc]",
      transport: "grpc",
      expect: Code.ResourceExhausted,
      build: (ctx) => unframed("grpc", reflection, envelope(ask("x".repeat(70 * 1024))), ctx, { auth: null }),
    },
    {
      category,
      name: "reflection, random bytes [grpc]",
      transport: "grpc",
      expect: Code.InvalidArgument,
      build: (ctx) => unframed("grpc", reflection, envelope(r.bytes(64)), ctx, { auth: null }),
    },
    {
      category,
      name: "REST create without a key and with a body that is not JSON",
      transport: "rest",
      expect: { http: 401 },
      build: (ctx) => rest("POST", "/v1/invoices", ctx, { auth: null, json: "{not json" }),
    },
    {
      category,
      name: "REST create without a key, 2 MiB declared",
      transport: "rest",
      expect: { http: 413 },
      build: (ctx) => rest("POST", "/v1/invoices", ctx, { auth: null, json: padJson("{}", 2 * MiB) }),
    },
  ];
  for (const transport of rpcTransports) {
    cases.push(
      {
        category,
        name: `CreateInvoice without a key, a gzip bomb [${transport}]`,
        transport,
        expect: Code.Unauthenticated,
        build: (ctx) =>
          transport === "connect-json" || transport === "connect-binary"
            ? unframed(transport, methodPath("CreateInvoice"), gzipSync(Buffer.alloc(8 * MiB)), ctx, {
                auth: null,
                headers: { "content-encoding": "gzip" },
              })
            : unframed(transport, methodPath("CreateInvoice"), envelope(gzipSync(Buffer.alloc(8 * MiB)), 1), ctx, {
                auth: null,
                headers: { "grpc-encoding": "gzip" },
              }),
      },
      {
        category,
        name: `a well-formed key nobody issued [${transport}]`,
        transport,
        expect: Code.Unauthenticated,
        build: (ctx) =>
          rpc(transport, methodPath("ListInvoices"), ListInvoicesRequestSchema, {}, ctx, {
            auth: `Bearer inv_${Buffer.from(r.bytes(24)).toString("base64url")}`,
          }),
      },
    );
  }
  return cases;
}

/** Characters XML 1.0 cannot hold (the DOCX could not be written): refused in every field, over every transport. */
function xmlForbidden(): HostileCase[] {
  const category = "characters XML cannot hold";
  return [
    ...createInvoiceEverywhere(
      category,
      "U+FFFE in a line description",
      Code.InvalidArgument,
      (r) => (r.lines[0]!.description = "Widget \uFFFE"),
    ),
    ...createInvoiceEverywhere(category, "U+FFFF in the note", Code.InvalidArgument, (r) => (r.note = "\uFFFF")),
    // Only JSON can carry an unpaired surrogate, as an escape.
    ...jsonEverywhere(category, "an unpaired surrogate escape in the buyer name", Code.InvalidArgument, () =>
      invoiceJson(invoice()).replace('"Globex SARL"', '"Globex \\ud800"'),
    ),
  ];
}

/** Text the invoice PDF cannot print (decision 0039): refused over every transport, REST included. */
function unprintableText(): HostileCase[] {
  const category = "text the invoice PDF cannot print";
  const fields: [string, (r: CreateInvoiceRequest) => void][] = [
    ["Han in a line description", (r) => (r.lines[1]!.description = "漢字")],
    ["Arabic in the buyer name", (r) => (r.buyer!.name = "شركة")],
    ["a right-to-left override in the seller's street", (r) => (r.seller!.address!.street = "\u202EHauptstraße 1")],
    ["an emoji the font lacks in the note", (r) => (r.note = "\u{1F680}")],
  ];
  return fields.flatMap(([what, mutate]) => createInvoiceEverywhere(category, what, Code.InvalidArgument, mutate));
}

export function hostileCorpus(): HostileCase[] {
  return [
    ...beforeAuthentication(),
    ...xmlForbidden(),
    ...unprintableText(),
    ...authentication(),
    ...forgedInternalHeaders(),
    ...internalServices(),
    ...tenantIsolation(),
    ...malformedIds(),
    ...contentTypeCases(),
    ...randomBytes(),
    ...truncatedProtobuf(),
    ...framing(),
    ...bodyLimits(),
    ...deepAndHugeJson(),
    ...invalidUtf8(),
    ...overlongStrings(),
    ...controlCharacters(),
    ...unknownEnums(),
    ...amounts(),
    ...currencies(),
    ...partiesAndDates(),
    ...sqlLooking(),
  ];
}

/** The one valid invoice of the suite: SQL-looking texts everywhere, which must come back verbatim. */
export function sqlLookingInvoice(): CreateInvoiceRequest {
  return sampleInvoice({
    idempotencyKey: "x'OR'1'='1;--",
    currencyCode: "EUR",
    seller: {
      name: "Robert'); DROP TABLE invoices;--",
      vatId: "DE123456789",
      address: {
        street: "1; DELETE FROM invoice_lines WHERE '1'='1",
        city: "\"; UPDATE invoices SET status='PAID'; --",
        postalCode: "$1 $$ %_",
        countryCode: "DE",
      },
    },
    buyer: {
      name: "' OR '1'='1' /*",
      address: { street: "*/ UNION SELECT key_hash FROM api_keys --", city: "E'\\\\x00' \\' \\\\", postalCode: "${x}", countryCode: "FR" },
    },
    lines: [
      {
        description: "'; INSERT INTO outbox VALUES (DEFAULT); --\nsecond line: $tag$ $$ %s %d {{x}} `rm -rf /`",
        quantity: 1n,
        unitPriceMinor: 100n,
        vatRateBp: 1900,
      },
      { description: "SELECT pg_sleep(10); -- é ü 😀", quantity: 2n, unitPriceMinor: 50n, vatRateBp: 0 },
    ],
    note: "Robert'); DROP TABLE tenants; -- \\ \" ' ;\n?param=1&x=2 <script>alert(1)</script> %00",
  });
}
