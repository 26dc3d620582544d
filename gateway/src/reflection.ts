import { connectNodeAdapter } from "@connectrpc/connect-node";
import { InvoiceService } from "@invoicer/sdk";
import { file_invoicer_v1_invoice_service } from "@invoicer/sdk/invoicer/v1/invoice_service_pb";
import { registerReflection } from "@invoicer/platform/reflection";
import type { FastifyInstance } from "fastify";

/** A reflection request names a file or a symbol: 64 KiB is far more than any needs, compressed or not. */
const reflectionMaxBytes = 64 * 1024;

/**
 * gRPC reflection of the public service only, answered here so the internal services stay
 * invisible. It needs no API key, so every message is bounded, after decompression too.
 */
export async function publicReflection(app: FastifyInstance) {
  const reflection = connectNodeAdapter({
    routes: (router) => registerReflection(router, [file_invoicer_v1_invoice_service], [InvoiceService.typeName]),
    readMaxBytes: reflectionMaxBytes,
  });
  // Connect reads the body itself, as a stream, within readMaxBytes.
  app.addContentTypeParser("*", (_request, _payload, done) => done(null));
  for (const version of ["v1", "v1alpha"]) {
    app.post(`/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`, (request, reply) => {
      reply.hijack();
      reflection(request.raw, reply.raw);
    });
  }
}
