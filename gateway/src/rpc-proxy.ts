import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import proxy from "@fastify/http-proxy";
import { Code } from "@connectrpc/connect";
import { internalTokenHeader, tenantHeader } from "@invoicer/platform/internal-auth";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AuthenticateHook } from "./authenticate.ts";
import type { ForwardedService } from "./config.ts";
import { grpcForwarder } from "./grpc-forward.ts";
import { isGrpc, sendRpcError } from "./rpc-errors.ts";

export interface RpcForwardingOptions {
  serverUrl: string;
  services: ForwardedService[];
  trustedHeaders: RpcProxyOptions["trustedHeaders"];
}

/** The forwarded services' RPCs, over one HTTP/2 session to the server; those that need a key use `app.authenticate`. */
export async function rpcForwarding(app: FastifyInstance, { serverUrl, services, trustedHeaders }: RpcForwardingOptions) {
  const forwardHttp2 = grpcForwarder(serverUrl);
  app.addHook("onClose", async () => forwardHttp2.close());
  for (const { name, authenticate } of services) {
    await app.register(rpcProxy, {
      serverUrl,
      service: name,
      authenticate: authenticate ? app.authenticate : undefined,
      forwardHttp2,
      trustedHeaders,
    });
  }
}

export interface RpcProxyOptions {
  serverUrl: string;
  /** The fully qualified service name, such as invoicer.v1.InvoiceService. */
  service: string;
  /** The API-key check, for a service that needs one. */
  authenticate?: AuthenticateHook;
  forwardHttp2: ReturnType<typeof grpcForwarder>;
  /** The headers the server believes (internal token, tenant, trace and request id), which replace any a client sent. */
  trustedHeaders: (request: Pick<FastifyRequest, "exchange" | "tenantId">) => Record<string, string>;
}

/**
 * Forwards one service's RPCs to the server: Connect and gRPC-web over HTTP/1.1 through
 * @fastify/http-proxy, HTTP/2 calls (gRPC above all) through our forwarder, which carries trailers.
 */
export async function rpcProxy(app: FastifyInstance, { serverUrl, service, authenticate, forwardHttp2, trustedHeaders }: RpcProxyOptions) {
  const prefix = `/${service}`;
  await app.register(proxy, {
    upstream: serverUrl,
    prefix,
    rewritePrefix: prefix,
    httpMethods: ["GET", "POST"],
    // Idle streams (WatchInvoices) must not be cut by the proxy's timeouts.
    http2: { requestTimeout: 0, sessionTimeout: 0 },
    // observeRequests writes the one line per request; reply-from would add two more.
    disableRequestLogging: true,
    preHandler: async (request, reply) => {
      // gRPC carries its status in HTTP/2 trailers; over HTTP/1.1 the proxy would run the call and lose it.
      if (isGrpc(request) && request.raw.httpVersionMajor !== 2) {
        return sendRpcError(request, reply, Code.Unimplemented, "gRPC needs HTTP/2");
      }
      await authenticate?.call(app, request, reply);
      if (reply.sent || request.raw.httpVersionMajor !== 2) return;
      reply.hijack();
      const [req, res] = [request.raw as unknown as Http2ServerRequest, reply.raw as unknown as Http2ServerResponse];
      forwardHttp2(req, res, trustedHeaders(request), request.exchange);
    },
    replyOptions: {
      rewriteRequestHeaders: (request, headers) => {
        const { authorization: _a, [tenantHeader]: _t, [internalTokenHeader]: _i, tracestate: _s, ...rest } = headers;
        return { ...rest, ...trustedHeaders(request as FastifyRequest) };
      },
      onError: (reply, { error }) => {
        reply.log.warn({ err: error }, "server unreachable");
        sendRpcError(reply.request as FastifyRequest, reply as FastifyReply, Code.Unavailable, "server unavailable");
      },
    },
  });
}
