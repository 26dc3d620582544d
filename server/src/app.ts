import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { InvoiceService } from "@invoicer/sdk";
import { file_grpc_health_v1_health, Health } from "@invoicer/sdk/grpc/health/v1/health_pb";
import { file_invoicer_v1_invoice_service } from "@invoicer/sdk/invoicer/v1/invoice_service_pb";
import {
  ApiKeyService,
  file_invoicer_v1_internal_service,
  InvoiceDocumentService,
} from "@invoicer/sdk/invoicer/v1/internal_service_pb";
import type { Logger } from "@invoicer/platform/logger";
import { registerReflection } from "@invoicer/platform/reflection";
import { apiKeyService } from "./api-keys.ts";
import type { Database } from "./db/client.ts";
import { invoiceService } from "./invoices/invoice-service.ts";
import { healthService } from "./rpc/health.ts";
import { trustedCallers } from "./rpc/callers.ts";
import { errorBoundary } from "./rpc/errors.ts";
import type { ServerConfig } from "./config.ts";

export interface ServerDeps {
  config: Pick<ServerConfig, "internalToken" | "maxMessageBytes">;
  database: Database;
  log: Logger;
  /** Aborted at shutdown: open streams end and new calls are refused. */
  shutdownSignal?: AbortSignal;
}

const servedServices = [InvoiceService, InvoiceDocumentService, ApiKeyService, Health].map((s) => s.typeName);

/** The server's routes on one Node request handler speaking Connect, gRPC and gRPC-web. */
export function createServerHandler({ config, database, log, shutdownSignal }: ServerDeps) {
  const databaseIsUp = () =>
    database.sql`select 1`.then(
      () => true,
      () => false,
    );
  const routes = (router: ConnectRouter) => {
    router.service(InvoiceService, invoiceService(database.db));
    router.service(ApiKeyService, apiKeyService(database.db));
    router.service(Health, healthService([InvoiceService.typeName], databaseIsUp));
    registerReflection(router, [file_invoicer_v1_invoice_service, file_invoicer_v1_internal_service, file_grpc_health_v1_health], servedServices);
  };
  return connectNodeAdapter({
    routes,
    interceptors: [errorBoundary(log), trustedCallers(config.internalToken)],
    readMaxBytes: config.maxMessageBytes,
    shutdownSignal,
  });
}
