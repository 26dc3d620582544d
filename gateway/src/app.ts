import { randomUUID } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { InvoiceService } from "@invoicer/sdk";
import { ApiKeyService } from "@invoicer/sdk/invoicer/v1/internal_service_pb";
import { balancedTransport } from "@invoicer/platform/balanced-transport";
import { createDualServer } from "@invoicer/platform/http-server/dual-server";
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
import { metricsRoute } from "./metrics-route.ts";
import { exchangeOf } from "./exchange.ts";
import { requestObservation } from "./exchange-plugin.ts";
import { observeRequests } from "./request-observation.ts";
import { publicReflection, reflectionProcedures } from "./public-reflection.ts";
import { restRoutes } from "./rest.ts";
import { tenantCapacity } from "./tenant-capacity.ts";
import { procedurePaths, rpcForwarding } from "./rpc-routes.ts";
import { serverTransport, trustedHeaders } from "./server-trust.ts";
import { webApp } from "./web-app.ts";

/** The gateway as a Fastify app, not yet listening; HTTP/1.1 and HTTP/2 share its port. The order of registration is the order of the hooks. */
export async function buildGateway(config: GatewayConfig, log: Logger, observability: Observability) {
  const procedures = new Set([...config.services.flatMap(({ service }) => procedurePaths(service)), ...reflectionProcedures]);
  const app = Fastify({
    loggerInstance: log,
    bodyLimit: config.maxBodyBytes,
    // A path parameter is as long as the request line allows (the HTTP parser bounds it at 16 KiB):
    // a malformed id is the API's own 400, never the router's undocumented 414.
    routerOptions: { maxParamLength: 16 * 1024 },
    serverFactory: (handler) => createDualServer(observeRequests(handler, observability, log, procedures), config.connections),
    trustProxy: config.trustProxy,
    // observeRequests logs one line per request and picks the request id (the caller's, if sane).
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: "request_id" }),
    genReqId: (raw) => exchangeOf(raw)?.requestId ?? randomUUID(),
    return503OnClosing: true,
  });
  // Every call to the server, forwarded or the gateway's own, goes to an endpoint picked for it.
  const { transport, endpoints } = balancedTransport(config.serverUrls, {
    refreshMs: config.serverRefreshMs,
    transportFor: (url) => serverTransport(url, config.internalToken),
  });
  app.addHook("onClose", async () => endpoints.close());
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
  await app.register(healthRoutes, { serverServing: endpoints.anyServing });
  await app.register(apiDocument, {});
  await app.register(webApp, { webDir: config.webDir });
  const limits = { ...config.forwarding, maxBodyBytes: config.maxBodyBytes };
  const capacity = tenantCapacity(limits);
  const restClient = createClient(InvoiceService, transport);
  await app.register(restRoutes, { client: restClient, callHeaders, timeoutMs: config.restTimeoutMs, capacity });
  await app.register(rpcForwarding, {
    endpoints,
    capacity,
    limits,
    services: config.services,
    trustedHeaders: callHeaders,
    http1Calls: config.http1Calls,
  });
  await app.register(publicReflection);
  return app;
}
