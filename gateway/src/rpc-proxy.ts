import type { DescService } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { AuthenticateHook } from "./authenticate.ts";
import type { ForwardedService } from "./config.ts";
import { rpcForwarder } from "./rpc-forwarder.ts";
import { isGrpc, sendRpcError } from "./rpc-errors.ts";

export interface RpcForwardingOptions {
  serverUrl: string;
  services: ForwardedService[];
  trustedHeaders: RpcProxyOptions["trustedHeaders"];
}

/** The forwarded services' RPCs, over one HTTP/2 session to the server; those that need a key use `app.authenticate`. */
export async function rpcForwarding(app: FastifyInstance, { serverUrl, services, trustedHeaders }: RpcForwardingOptions) {
  const forward = rpcForwarder(serverUrl, app.log);
  app.addHook("onClose", async () => forward.close());
  for (const { service, authenticate } of services) {
    await app.register(rpcProxy, { service, authenticate: authenticate ? app.authenticate : undefined, forward, trustedHeaders });
  }
}

export interface RpcProxyOptions {
  /** The service, such as invoicer.v1.InvoiceService: its methods are what is forwarded. */
  service: DescService;
  /** The API-key check, for a service that needs one. */
  authenticate?: AuthenticateHook;
  forward: ReturnType<typeof rpcForwarder>;
  /** The headers the server believes (internal token, tenant, trace and request id), which replace any a client sent. */
  trustedHeaders: (request: Pick<FastifyRequest, "exchange" | "tenantId">) => Record<string, string>;
}

/** A service's procedures as request paths: /package.Service/Method. */
export const procedurePaths = (service: DescService) => service.methods.map((m) => `/${service.typeName}/${m.name}`);

/**
 * Forwards one service's RPCs to the server, Connect, gRPC-web and gRPC alike, bodies unread:
 * each streams to the server as it arrives and the answer streams back.
 */
export async function rpcProxy(app: FastifyInstance, { service, authenticate, forward, trustedHeaders }: RpcProxyOptions) {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_request, _body, done) => done(null));
  const procedures = new Set(procedurePaths(service));
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
    handler: (request, reply) => {
      forward(request.raw, reply.raw, trustedHeaders(request), request.exchange, {
        answering: () => reply.hijack().getHeaders(),
        unreachable: (err) => {
          request.log.warn({ err }, "server unreachable");
          sendRpcError(request, reply, Code.Unavailable, "server unavailable");
        },
      });
      return reply;
    },
  });
}
