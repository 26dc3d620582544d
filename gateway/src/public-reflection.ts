import { createConnectRouter } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import { InvoiceService } from "@invoicer/sdk";
import { file_invoicer_v1_invoice_service } from "@invoicer/sdk/invoicer/v1/invoice_service_pb";
import { connectRoutes } from "@invoicer/platform/connect-routes";
import { registerReflection } from "@invoicer/platform/reflection";
import type { FastifyInstance } from "fastify";

/** The procedures of both reflection versions, which the gateway answers itself. */
export const reflectionProcedures = ["v1", "v1alpha"].map((version) => `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`);

/** A reflection request names a file or a symbol: 64 KiB is far more than any needs, compressed or not. */
const reflectionMaxBytes = 64 * 1024;

/**
 * gRPC reflection of the public service only, answered here so the internal services stay
 * invisible. It needs no API key, so every message is bounded, after decompression too, and an
 * undecodable one is the caller's mistake (InvalidArgument), as on the server.
 */
export async function publicReflection(app: FastifyInstance) {
  const router = createConnectRouter({ readMaxBytes: reflectionMaxBytes, acceptCompression: [compressionGzip, compressionBrotli] });
  registerReflection(router, [file_invoicer_v1_invoice_service], [InvoiceService.typeName]);
  const serve = connectRoutes(router, app.log);
  // Connect reads the body itself, as a stream, within readMaxBytes.
  app.addContentTypeParser("*", (_request, _payload, done) => done(null));
  for (const path of reflectionProcedures) {
    app.post(path, (request, reply) => {
      reply.hijack();
      serve(request.raw, reply.raw);
    });
  }
}
