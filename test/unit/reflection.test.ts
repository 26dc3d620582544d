// Fast test of the reflection both the server and the gateway serve: grpcurl and other tools
// resolve the error details' types through it, so they show google.rpc.BadRequest decoded.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { InvoiceService } from "@invoicer/sdk";
import { ServerReflection, ServerReflectionRequestSchema } from "@invoicer/sdk/grpc/reflection/v1/reflection_pb";
import { file_invoicer_v1_invoice_service } from "@invoicer/sdk/invoicer/v1/invoice_service_pb";
import { registerReflection } from "@invoicer/platform/reflection";

const reflection = createClient(
  ServerReflection,
  createRouterTransport((router) => registerReflection(router, [file_invoicer_v1_invoice_service], [InvoiceService.typeName])),
);

/** The names of the files reflection answers for a symbol (empty when it says it does not know it). */
async function filesContaining(symbol: string): Promise<string[]> {
  async function* ask() {
    yield create(ServerReflectionRequestSchema, { messageRequest: { case: "fileContainingSymbol", value: symbol } });
  }
  for await (const res of reflection.serverReflectionInfo(ask())) {
    const answer = res.messageResponse;
    return answer.case === "fileDescriptorResponse"
      ? answer.value.fileDescriptorProto.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name)
      : [];
  }
  return [];
}

describe("reflection", () => {
  it("answers for the error details every error carries, so tools decode them", async () => {
    for (const symbol of ["google.rpc.BadRequest", "google.rpc.ErrorInfo", "google.rpc.RetryInfo", "invoicer.v1.FieldViolations"]) {
      assert.ok((await filesContaining(symbol)).length > 0, `${symbol} is not resolvable through reflection`);
    }
    assert.deepEqual(await filesContaining("google.rpc.NoSuchThing"), []);
  });
});
