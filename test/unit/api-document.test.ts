// The OpenAPI document against the protos it describes, and the plugin that serves it (inject()).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createRegistry, ScalarType, type DescEnum, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { file_invoicer_v1_invoice, file_invoicer_v1_invoice_service } from "@invoicer/sdk";
import { file_google_rpc_error_details } from "@invoicer/sdk/google/rpc/error_details_pb";
import { minorUnitDigits } from "@invoicer/platform/currencies";
import { ErrorReason } from "@invoicer/platform/error-details";
import Fastify from "fastify";
import { apiDocument, apiDocumentFile } from "../../gateway/src/api-document.ts";
import { loadApiDocument } from "../support/openapi.ts";

type Schema = Record<string, unknown>;
const document = loadApiDocument();
const schemas = document.components.schemas as Record<string, Schema>;
const protos = createRegistry(file_invoicer_v1_invoice, file_invoicer_v1_invoice_service, file_google_rpc_error_details);
const ref = (name: string) => `#/components/schemas/${name}`;
const deref = (schema: Schema): Schema => (typeof schema.$ref === "string" ? deref(schemas[schema.$ref.split("/").pop()!]!) : schema);

/** A field's value, or a repeated field's element. */
type FieldValue = { kind: "scalar"; scalar: ScalarType } | { kind: "enum"; desc: DescEnum } | { kind: "message"; desc: DescMessage };

function valueOf(field: DescField): FieldValue | undefined {
  const kind = field.fieldKind === "list" ? field.listKind : field.fieldKind;
  if (kind === "scalar") return { kind, scalar: field.scalar! };
  if (kind === "enum") return { kind, desc: field.enum! };
  if (kind === "message") return { kind, desc: field.message! };
  return undefined;
}

const wideIntegers = [ScalarType.INT64, ScalarType.UINT64, ScalarType.SINT64, ScalarType.FIXED64, ScalarType.SFIXED64];

/** What the document must say of a field, by the proto JSON mapping; requests take int64 as a string or a number. */
function expectField(field: DescField, schema: Schema, input: boolean): string | undefined {
  const where = `${field.parent.name}.${field.jsonName}`;
  if (field.fieldKind === "list") {
    if (schema.type !== "array") return `${where}: a repeated field is an array`;
    schema = schema.items as Schema;
  }
  const value = valueOf(field);
  if (!value) return `${where}: ${field.fieldKind} fields are not described yet`;
  if (value.kind === "enum") return schema.$ref === ref(value.desc.name) ? undefined : `${where}: refers to ${value.desc.name}`;
  if (value.kind === "message") {
    if (value.desc.typeName === "google.protobuf.Timestamp") {
      return deref(schema).format === "date-time" ? undefined : `${where}: a Timestamp is a date-time string`;
    }
    return schema.$ref === ref(value.desc.name) ? undefined : `${where}: refers to ${value.desc.name}`;
  }
  if (wideIntegers.includes(value.scalar)) {
    const expected = input ? "Int64Input" : "Int64";
    return schema.$ref === ref(expected) ? undefined : `${where}: a 64-bit integer is ${expected}`;
  }
  const text = value.scalar === ScalarType.STRING || value.scalar === ScalarType.BYTES;
  const jsonType = text ? "string" : value.scalar === ScalarType.BOOL ? "boolean" : "integer";
  return deref(schema).type === jsonType ? undefined : `${where}: is ${jsonType}`;
}

describe("the OpenAPI document's schemas", () => {
  const requestMessages = ["CreateInvoiceRequest", "CreateCreditNoteRequest", "LineInput"];
  const described = Object.keys(schemas).filter((name) => protos.getMessage(`invoicer.v1.${name}`));

  it("describe every message the REST routes take or answer", () => {
    assert.deepEqual(described.sort(), [
      "Address",
      "Contact",
      "CreateCreditNoteRequest",
      "CreateInvoiceRequest",
      "ElectronicAddress",
      "Invoice",
      "InvoiceLine",
      "LineInput",
      "ListInvoicesResponse",
      "Party",
      "PaymentInstructions",
      "PrecedingInvoice",
      "VatBreakdown",
    ]);
  });

  it("have exactly the fields of each message, typed by the proto JSON mapping", () => {
    for (const name of described) {
      const message = protos.getMessage(`invoicer.v1.${name}`)!;
      const properties = schemas[name]!.properties as Record<string, Schema>;
      assert.deepEqual(Object.keys(properties).sort(), message.fields.map((f) => f.jsonName).sort(), `${name}'s fields`);
      const wrong = message.fields.map((f) => expectField(f, properties[f.jsonName]!, requestMessages.includes(name))).filter(Boolean);
      assert.deepEqual(wrong, [], `${name}'s field types`);
      assert.equal(schemas[name]!.additionalProperties, false, `${name} has no other fields`);
    }
  });

  it("list each enum's names but the zero value, which the JSON mapping leaves out", () => {
    for (const name of ["InvoiceStatus", "DocumentStatus", "DocumentType", "VatCategory"]) {
      const protoEnum = protos.getEnum(`invoicer.v1.${name}`) as DescEnum;
      assert.deepEqual(
        schemas[name]!.enum,
        protoEnum.values.filter((v) => v.number !== 0).map((v) => v.name),
      );
    }
  });

  it("list exactly the currencies the server takes", () => {
    const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const codes = [...letters].flatMap((a) => [...letters].flatMap((b) => [...letters].map((c) => a + b + c)));
    assert.deepEqual(
      schemas.CurrencyCode!.enum,
      codes.filter((code) => minorUnitDigits(code) !== undefined),
    );
  });

  it("describe the errors with every code, every ErrorInfo reason and google.rpc's field names", () => {
    const error = schemas.Error!.properties as Record<string, Schema>;
    const codes = Object.values(Code).filter((c): c is Code => typeof c === "number");
    assert.deepEqual(error.code!.enum, codes.map(codeToString));
    const errorInfo = schemas.ErrorInfo!.properties as Record<string, Schema>;
    assert.deepEqual(errorInfo.reason!.enum, Object.values(ErrorReason));
    for (const name of ["ErrorInfo", "BadRequest", "PreconditionFailure", "RetryInfo"]) {
      const message = protos.getMessage(`google.rpc.${name}`) as DescMessage;
      const fields = Object.keys(schemas[name]!.properties as Schema).filter((f) => f !== "@type");
      assert.ok(
        fields.every((f) => message.fields.some((mf) => mf.jsonName === f)),
        `${name}: ${fields}`,
      );
      assert.deepEqual((schemas[name]!.properties as Record<string, Schema>)["@type"], { const: `type.googleapis.com/google.rpc.${name}` });
    }
  });
});

describe("apiDocument", () => {
  const app = Fastify();
  after(() => app.close());

  it("serves the committed document without a key, and 304 to a client that has it", async () => {
    await app.register(apiDocument, {});
    const first = await app.inject({ method: "GET", url: "/openapi.yaml" });
    assert.equal(first.statusCode, 200);
    assert.equal(first.headers["content-type"], "application/yaml");
    assert.equal(first.body, readFileSync(apiDocumentFile, "utf8"));
    const etag = first.headers.etag as string;
    assert.match(etag, /^"[\w-]{22}"$/);
    const again = await app.inject({ method: "GET", url: "/openapi.yaml", headers: { "if-none-match": `W/"other", ${etag}` } });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, "");
    const changed = await app.inject({ method: "GET", url: "/openapi.yaml", headers: { "if-none-match": '"other"' } });
    assert.equal(changed.statusCode, 200);
  });

  it("refuses at start a document it cannot read or that is too large to hold", async () => {
    const dir = mkdtempSync(join(tmpdir(), "api-document-"));
    const large = join(dir, "large.yaml");
    writeFileSync(large, "x".repeat(256 * 1024 + 1));
    for (const [file, message] of [
      [join(dir, "missing.yaml"), /cannot read the OpenAPI document .*missing\.yaml: ENOENT/],
      [large, /is 262145 bytes; at most 262144 are served/],
    ] as const) {
      const broken = Fastify();
      await assert.rejects(async () => void (await broken.register(apiDocument, { file })), message);
      await broken.close();
    }
  });
});
