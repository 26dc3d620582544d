import type { ConnectRouter } from "@connectrpc/connect";
import { setMaxListeners } from "node:events";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { InvoiceService } from "@invoicer/sdk";
import { file_grpc_health_v1_health, Health } from "@invoicer/sdk/grpc/health/v1/health_pb";
import { file_invoicer_v1_invoice_service } from "@invoicer/sdk/invoicer/v1/invoice_service_pb";
import { ApiKeyService, file_invoicer_v1_internal_service, InvoiceDocumentService } from "@invoicer/sdk/invoicer/v1/internal_service_pb";
import { connectRoutes } from "@invoicer/platform/connect-routes";
import { internalTokenHeader, isInternalToken } from "@invoicer/platform/internal-auth";
import { closeGracefully } from "@invoicer/platform/http-server/graceful-close";
import type { Logger } from "@invoicer/platform/logger";
import type { Observability } from "@invoicer/platform/observability";
import { registerReflection } from "@invoicer/platform/reflection";
import { apiKeyService } from "./api-key-admin.ts";
import type { Database } from "./db/client.ts";
import { invoiceDocumentDownloads, invoiceDocumentService } from "./documents/document-service.ts";
import { creditNoteIssuer } from "./invoices/credit-note-service.ts";
import { invoiceService } from "./invoices/invoice-service.ts";
import type { InvoiceWatch } from "./invoices/watch.ts";
import { healthService } from "./rpc/health.ts";
import { trustedCallers } from "./rpc/callers.ts";
import { createRpcRouter } from "./rpc/router.ts";
import { callsPerTenant } from "./rpc/tenant-calls.ts";
import { readBudgetPerTenant } from "./rpc/read-budget.ts";
import { outboxMetrics } from "./outbox/pipeline-gauges.ts";
import type { ServerConfig } from "./config.ts";

export interface ServerDeps {
  /** Without `consumerToken` no caller but the gateway is let in. */
  config: Pick<ServerConfig, "internalToken" | "maxMessageBytes" | "maxCallsPerTenant" | "readLines" | "maxRunningCallsPerTenant"> &
    Partial<Pick<ServerConfig, "consumerToken">>;
  database: Database;
  log: Logger;
  observability: Observability;
  watch: InvoiceWatch;
  /** Ends the server: `draining` makes health NOT_SERVING; `cut` aborts what is still running after the grace period. */
  lifecycle?: ServerLifecycle;
}

/** Signals of a server's shutdown, in order: draining first, then (after the grace period) cut. */
export interface ServerLifecycle {
  draining: AbortController;
  cut: AbortController;
}

export function serverLifecycle(): ServerLifecycle {
  const cut = new AbortController();
  // Every call in flight listens on it until it ends (Connect's shutdownSignal): more than Node's 10 is normal.
  setMaxListeners(0, cut.signal);
  return { draining: new AbortController(), cut };
}

const servedServices = [InvoiceService, InvoiceDocumentService, ApiKeyService, Health].map((s) => s.typeName);
const publicServices = [InvoiceService, Health].map((s) => s.typeName);

/** The server's routes on one Node request handler speaking Connect, gRPC and gRPC-web. */
export function createServerHandler({ config, database, watch, log, observability, lifecycle = serverLifecycle() }: ServerDeps) {
  const { tracer, metrics } = observability;
  outboxMetrics(metrics, database.sql);
  // A draining server says NOT_SERVING, so balancers send new calls elsewhere.
  const serving = () =>
    !lifecycle.draining.signal.aborted &&
    database.sql`select 1`.then(
      () => true,
      () => false,
    );
  const routes = (router: ConnectRouter) => {
    router.service(InvoiceService, {
      ...invoiceService(database.db, watch, tracer),
      createCreditNote: creditNoteIssuer(database.db, tracer),
      ...invoiceDocumentDownloads(database.db, tracer),
    });
    router.service(InvoiceDocumentService, invoiceDocumentService(database.db, tracer));
    router.service(ApiKeyService, apiKeyService(database.db));
    router.service(
      Health,
      healthService([InvoiceService.typeName], async () => serving()),
    );
    registerReflection(
      router,
      [file_invoicer_v1_invoice_service, file_invoicer_v1_internal_service, file_grpc_health_v1_health],
      // Reflection needs no token; the internal services are shown only to the gateway, who may call them.
      (header) => (isInternalToken(header.get(internalTokenHeader), config.internalToken) ? servedServices : publicServices),
    );
  };
  const router = createRpcRouter({
    log,
    observability,
    maxMessageBytes: config.maxMessageBytes,
    cutSignal: lifecycle.cut.signal,
    interceptors: [
      trustedCallers(config),
      callsPerTenant({
        maxCalls: config.maxCallsPerTenant,
        maxRunning: config.maxRunningCallsPerTenant,
        // One page at a time per tenant: its pages, built together, held other tenants' calls behind them (decision 0041).
        maxRunningPages: 1,
      }),
      readBudgetPerTenant(config.readLines),
    ],
  });
  routes(router);
  const serve = connectRoutes(router, log);
  return (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => {
    if (!serve(req, res)) (res as ServerResponse).writeHead(404).end();
  };
}

/**
 * A deploy's SIGTERM: WatchInvoices streams end (clients reconnect to another replica), health turns
 * NOT_SERVING, no new connection is accepted and HTTP/2 clients get GOAWAY, while calls in flight run
 * to completion within `graceMs`. Only what still runs after that is cut (its transaction rolls back).
 */
export async function drainServer(server: Server, watch: InvoiceWatch, lifecycle: ServerLifecycle, graceMs: number): Promise<void> {
  lifecycle.draining.abort();
  watch.close();
  await closeGracefully(server, graceMs);
  lifecycle.cut.abort();
}
