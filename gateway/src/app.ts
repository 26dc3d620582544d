import { randomUUID, timingSafeEqual } from "node:crypto";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import cors from "@fastify/cors";
import rateLimit from "@fastify/rate-limit";
import { Code, cors as connectCors, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { InvoiceService } from "@invoicer/sdk";
import { Health } from "@invoicer/sdk/grpc/health/v1/health_pb";
import { ApiKeyService } from "@invoicer/sdk/invoicer/v1/internal_service_pb";
import { createDualServer } from "@invoicer/platform/http-server";
import { internalTokenHeader, tenantHeader } from "@invoicer/platform/internal-auth";
import type { Logger } from "@invoicer/platform/logger";
import { sendMetrics } from "@invoicer/platform/metrics";
import type { Observability } from "@invoicer/platform/observability";
import Fastify, { LogController, type FastifyReply, type FastifyRequest } from "fastify";
import { apiKeyResolver, rateLimiter } from "./api-keys.ts";
import { authenticator, type AuthenticateOptions } from "./authenticate.ts";
import type { GatewayConfig } from "./config.ts";
import { grpcForwarder } from "./grpc-forward.ts";
import { healthRoutes } from "./health.ts";
import { exchangeOf, noteRoute, noteSentStatus, observeRequests, upstreamHeaders } from "./observe.ts";
import { publicReflection } from "./reflection.ts";
import { restRoutes } from "./rest.ts";
import { rpcProxy } from "./rpc-proxy.ts";
import { isGrpc, isGrpcFamily, sendRpcError } from "./rpc-errors.ts";
import { webApp } from "./web-app.ts";

/** A procedure's path: /package.Service/Method. */
const rpcPath = /^\/\w+(?:\.\w+)+\/\w+$/;

/** The gateway as a Fastify app, not yet listening; HTTP/1.1 and HTTP/2 share its port. */
export async function buildGateway(config: GatewayConfig, log: Logger, observability: Observability) {
  const app = Fastify({
    loggerInstance: log,
    bodyLimit: config.maxBodyBytes,
    serverFactory: (handler) => createDualServer(observeRequests(handler, observability, log), config.connections),
    trustProxy: config.trustProxy,
    // observeRequests logs one line per request and picks the request id (the caller's, if sane).
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: "request_id" }),
    genReqId: (raw) => exchangeOf(raw)?.requestId ?? randomUUID(),
    return503OnClosing: true,
  });
  app.addHook("onRequest", noteRoute);
  app.addHook("onSend", noteSentStatus);
  const withInternalToken: Interceptor = (next) => (req) => {
    req.header.set(internalTokenHeader, config.internalToken);
    return next(req);
  };
  const serverTransport = createConnectTransport({
    baseUrl: config.serverUrl,
    httpVersion: "2",
    useBinaryFormat: true,
    interceptors: [withInternalToken],
  });
  const forwardHttp2 = grpcForwarder(config.serverUrl);
  app.addHook("onClose", async () => forwardHttp2.close());

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split("?", 1)[0]!;
    if (!isGrpcFamily(request) && !rpcPath.test(path)) return reply.code(404).send({ code: "not_found", message: "no such route" });
    if (isGrpcFamily(request)) return sendRpcError(request, reply, Code.Unimplemented, `no such method: ${path}`);
    // As Connect servers answer (clients read 404 as unimplemented): a plain 404, and 405 for a verb RPCs do not use.
    const allowed = request.method === "POST" || request.method === "GET";
    if (!allowed) reply.header("allow", "GET, POST");
    return reply
      .code(allowed ? 404 : 405)
      .type("text/plain")
      .send(allowed ? `no such method: ${path}` : `${request.method} is not allowed: RPCs are POST, or GET where they have no side effects`);
  });
  app.setErrorHandler((err: { statusCode?: number; message: string }, request, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 500) request.log.error({ err }, "gateway error");
    const code =
      status === 413 ? Code.ResourceExhausted : status === 429 ? Code.ResourceExhausted : status < 500 ? Code.InvalidArgument : Code.Internal;
    const message = status < 500 ? err.message : "internal error";
    return sendRpcError(request, reply, code, message, status);
  });
  // Every request counts against its address first, before CORS, authentication or any body.
  await app.register(rateLimit, { global: false });
  const tooMany = (message: string) => (_request: FastifyRequest, context: { statusCode: number; after: string }) =>
    Object.assign(new Error(`${message}; retry in ${context.after}`), { statusCode: context.statusCode });
  app.addHook("onRequest", app.rateLimit({ max: config.rateLimitPerAddress, timeWindow: 1_000, errorResponseBuilder: tooMany("too many requests from this address") }));
  const keyChecks = app.createRateLimit({ max: config.keyChecksPerAddress, timeWindow: 60_000 });
  const authOptions: AuthenticateOptions = {
    keys: apiKeyResolver(createClient(ApiKeyService, serverTransport), config.apiKeyCacheMs),
    mayCheckKey: async (request) => {
      const budget = await keyChecks(request);
      return budget.isAllowed || !budget.isExceeded;
    },
    allowKey: rateLimiter(config.rateLimitPerSecond, config.rateLimitBurst),
    maxBodyBytes: config.maxBodyBytes,
  };
  const authenticate = authenticator(authOptions);

  await app.register(cors, {
    origin: (origin, done) => done(null, origin !== undefined && config.corsOrigins.includes(origin)),
    methods: [...connectCors.allowedMethods],
    allowedHeaders: [...connectCors.allowedHeaders, "Authorization", "Idempotency-Key", "traceparent", "tracestate", "X-Request-Id"],
    exposedHeaders: [...connectCors.exposedHeaders],
    maxAge: 7200,
  });

  /** Client-supplied trust headers never reach the server; ours replace them, with the trace and request id. */
  const trustedHeaders = (request: { raw: object; tenantId?: string }): Record<string, string> => ({
    ...upstreamHeaders(request.raw),
    ...(request.tenantId ? { [tenantHeader]: request.tenantId } : {}),
    [internalTokenHeader]: config.internalToken,
  });

  if (config.metricsToken) {
    const expected = Buffer.from(`Bearer ${config.metricsToken}`);
    app.get("/metrics", async (request, reply) => {
      const given = Buffer.from(request.headers.authorization ?? "");
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        return reply.code(401).send({ code: "unauthenticated", message: "send Authorization: Bearer <METRICS_TOKEN>" });
      }
      reply.hijack();
      await sendMetrics(observability.metrics, reply.raw);
    });
  }

  await app.register(healthRoutes, { health: createClient(Health, serverTransport) });

  await app.register(webApp, { webDir: config.webDir });

  await app.register(restRoutes, {
    client: createClient(InvoiceService, serverTransport),
    authenticate: authenticator({ ...authOptions, oversizeHttpStatus: 413 }),
    callHeaders: trustedHeaders,
  });

  for (const { name, authenticate: needsKey } of config.services) {
    await app.register(rpcProxy, { serverUrl: config.serverUrl, service: name, authenticate: needsKey ? authenticate : undefined, forwardHttp2, trustedHeaders });
  }

  await app.register(publicReflection);

  return app;
}
