import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel as Idempotency } from "@bufbuild/protobuf/wkt";
import { setTimeout } from "node:timers/promises";
import { Code } from "@connectrpc/connect";
import type { ServerEndpoints } from "@invoicer/platform/server-endpoints";
import { ErrorReason, retryInfo } from "@invoicer/platform/error-details";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AuthenticateHook } from "./authenticate.ts";
import type { ForwardedService } from "./config.ts";
import { proxiedCalls, type ProxyCall } from "./http1-proxy.ts";
import { rpcForwarder, type ForwardingLimits, type MethodPolicy } from "./http2-forwarder.ts";
import type { TenantCapacity } from "./tenant-capacity.ts";
import { isGrpc, sendRpcError } from "./rpc-errors.ts";

export interface RpcForwardingOptions {
  endpoints: ServerEndpoints;
  limits: ForwardingLimits;
  /** What each tenant may hold of this gateway, shared with the REST routes. */
  capacity: TenantCapacity;
  services: ForwardedService[];
  trustedHeaders: RpcProxyOptions["trustedHeaders"];
  /** Who carries HTTP/1.1 calls (Connect, gRPC-web): reply-from over undici, or the forwarder as gRPC's calls. */
  http1Calls?: Http1Carrier;
}

export type Http1Carrier = "proxy" | "forwarder";

/** The forwarded services' RPCs, balanced per call over the server's endpoints; those that need a key use `app.authenticate`. */
export async function rpcForwarding(app: FastifyInstance, options: RpcForwardingOptions) {
  const { endpoints, capacity, limits, services, trustedHeaders, http1Calls = "proxy" } = options;
  const forward = rpcForwarder(endpoints, capacity, limits, app.log);
  app.addHook("onClose", async () => forward.close());
  const proxy = http1Calls === "proxy" ? await proxiedCalls(app, { endpoints, capacity, limits, trustedHeaders }) : undefined;
  for (const { service, authenticate } of services) {
    await app.register(rpcProxy, {
      service,
      authenticate: authenticate ? app.authenticate : undefined,
      forward,
      proxy,
      capacity,
      trustedHeaders,
    });
  }
}

export interface RpcProxyOptions {
  /** The service, such as invoicer.v1.InvoiceService: its methods are what is forwarded. */
  service: DescService;
  /** The API-key check, for a service that needs one. */
  authenticate?: AuthenticateHook;
  forward: ReturnType<typeof rpcForwarder>;
  /** Carries HTTP/1.1 calls when given; the forwarder carries the rest. */
  proxy?: ProxyCall;
  /** Whose stream opens are counted: a service forwarded with a key (a tenant) opens its streams at a bounded rate. */
  capacity: TenantCapacity;
  /** The headers the server believes (internal token, tenant, trace and request id), which replace any a client sent. */
  trustedHeaders: (request: Pick<FastifyRequest, "exchange" | "tenantId">) => Record<string, string>;
}

/** A service's procedures as request paths: /package.Service/Method. */
export const procedurePaths = (service: DescService) => service.methods.map((m) => `/${service.typeName}/${m.name}`);

/** What the forwarder may do with a method, read from its descriptor: no side effects, or an idempotency key, make it safe to send again. */
const methodPolicy = (method: DescMethod): MethodPolicy => ({
  retryable: method.idempotency === Idempotency.NO_SIDE_EFFECTS || method.input.fields.some((f) => f.name === "idempotency_key"),
  streaming: method.methodKind !== "unary",
});

/**
 * Forwards one service's RPCs to the server, bodies unread: each streams to the server as it arrives
 * and the answer streams back. HTTP/1.1 calls (Connect, gRPC-web), whose status is in the body, go
 * through `proxy`; HTTP/2 calls through the forwarder, which carries gRPC's status in the trailers.
 */
export async function rpcProxy(app: FastifyInstance, options: RpcProxyOptions) {
  const { service, authenticate, forward, proxy, capacity, trustedHeaders } = options;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_request, _body, done) => done(null));
  const procedures = new Map(service.methods.map((m) => [`/${service.typeName}/${m.name}`, methodPolicy(m)]));
  app.route({
    method: ["GET", "POST"],
    url: `/${service.typeName}/*`,
    preHandler: async (request, reply) => {
      // gRPC carries its status in HTTP/2 trailers; over HTTP/1.1 the call would run and its status be lost.
      if (isGrpc(request) && request.raw.httpVersionMajor !== 2) {
        return sendRpcError(request, reply, Code.Unimplemented, "gRPC needs HTTP/2");
      }
      // The key comes first: nobody learns what exists without one.
      await authenticate?.call(app, request, reply);
      // Only the service's own methods go on: no other path (`..`, `%2F`) ever reaches the server.
      if (!reply.sent && !procedures.has(request.url.split("?", 1)[0]!)) return reply.callNotFound();
    },
    handler: async (request, reply) => {
      const policy = procedures.get(request.url.split("?", 1)[0]!)!;
      if (policy.streaming && authenticate) {
        const turn = capacity.openStream(request.tenantId);
        if (turn.kind === "refused") return refuseStream(request, reply, turn.retryMs, capacity);
        if (turn.ms > 0) await setTimeout(turn.ms);
        if (reply.raw.destroyed) return reply; // the caller left while it waited
      }
      if (proxy && request.raw.httpVersionMajor === 1) return proxy(request, reply, policy);
      forward(request.raw, reply.raw, trustedHeaders(request), {
        tenant: request.tenantId,
        log: request.log,
        policy,
        exchange: request.exchange,
        answer: {
          answering: () => reply.hijack().getHeaders(),
          fail: (code, message, reason) => void sendRpcError(request, reply, code, message, { reason }),
        },
      });
      return reply;
    },
  });
}

/** A stream past its tenant's opening rate and its queue: refused before it costs a server anything, with when to try again. */
function refuseStream(request: FastifyRequest, reply: FastifyReply, waitMs: number, capacity: TenantCapacity) {
  reply.header("retry-after", String(Math.ceil(waitMs / 1000)));
  const { streamOpensPerSecond: perSecond, streamOpensBurst: burst } = capacity.limits;
  const message = `too many streams opened for this tenant (${perSecond} a second, ${burst} at once, ${burst} more waiting)`;
  return sendRpcError(request, reply, Code.ResourceExhausted, message, { reason: ErrorReason.RATE_LIMITED, details: [retryInfo(waitMs)] });
}
