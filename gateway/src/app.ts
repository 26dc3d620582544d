import { randomUUID } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { InvoiceService } from "@invoicer/sdk";
import { Health } from "@invoicer/sdk/grpc/health/v1/health_pb";
import { ApiKeyService } from "@invoicer/sdk/invoicer/v1/internal_service_pb";
import { createDualServer } from "@invoicer/platform/http-server";
import type { Logger } from "@invoicer/platform/logger";
import type { Observability } from "@invoicer/platform/observability";
import Fastify, { LogController } from "fastify";
import { addressLimits } from "./address-limits.ts";
import { apiDocument } from "./api-document.ts";
import { apiKeyAuthentication } from "./authenticate.ts";
import { browserCors } from "./browser-cors.ts";
import type { GatewayConfig } from "./config.ts";
import { errorAnswers } from "./error-answers.ts";
import { healthRoutes } from "./health.ts";
import { metricsRoute } from "./metrics.ts";
import { exchangeOf, observeRequests, requestObservation } from "./observe.ts";
import { publicReflection, reflectionProcedures } from "./reflection.ts";
import { restRoutes } from "./rest.ts";
import { procedurePaths, rpcForwarding } from "./rpc-proxy.ts";
import { serverTransport, trustedHeaders } from "./server-calls.ts";
import { webApp } from "./web-app.ts";

/** The gateway as a Fastify app, not yet listening; HTTP/1.1 and HTTP/2 share its port. The order of registration is the order of the hooks. */
export async function buildGateway(config: GatewayConfig, log: Logger, observability: Observability) {
  const procedures = new Set([...config.services.flatMap(({ service }) => procedurePaths(service)), ...reflectionProcedures]);
  const app = Fastify({
    loggerInstance: log,
    bodyLimit: config.maxBodyBytes,
    serverFactory: (handler) => createDualServer(observeRequests(handler, observability, log, procedures), config.connections),
    trustProxy: config.trustProxy,
    // observeRequests logs one line per request and picks the request id (the caller's, if sane).
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: "request_id" }),
    genReqId: (raw) => exchangeOf(raw)?.requestId ?? randomUUID(),
    return503OnClosing: true,
  });
  const transport = serverTransport(config.serverUrl, config.internalToken);
  const callHeaders = trustedHeaders(config.internalToken);

  await app.register(requestObservation);
  await app.register(errorAnswers);
  await app.register(addressLimits, { perSecond: config.rateLimitPerAddress });
  await app.register(apiKeyAuthentication, {
    keyService: createClient(ApiKeyService, transport),
    apiKeyCacheMs: config.apiKeyCacheMs,
    keyChecksPerAddress: config.keyChecksPerAddress,
    rateLimitPerSecond: config.rateLimitPerSecond,
    rateLimitBurst: config.rateLimitBurst,
    rateLimitLeaseMs: config.rateLimitLeaseMs,
    rateLimitLeaseTtlMs: config.rateLimitLeaseTtlMs,
    maxBodyBytes: config.maxBodyBytes,
  });
  await app.register(browserCors, { origins: config.corsOrigins });
  if (config.metricsToken) await app.register(metricsRoute, { token: config.metricsToken, metrics: observability.metrics });
  await app.register(healthRoutes, { health: createClient(Health, transport) });
  await app.register(apiDocument, {});
  await app.register(webApp, { webDir: config.webDir });
  await app.register(restRoutes, { client: createClient(InvoiceService, transport), callHeaders, timeoutMs: config.restTimeoutMs });
  await app.register(rpcForwarding, { serverUrl: config.serverUrl, services: config.services, trustedHeaders: callHeaders });
  await app.register(publicReflection);
  return app;
}
