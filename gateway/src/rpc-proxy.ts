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
  const forward = rpcForwarder(serverUrl);
  app.addHook("onClose", async () => forward.close());
  for (const { name, authenticate } of services) {
    await app.register(rpcProxy, { service: name, authenticate: authenticate ? app.authenticate : undefined, forward, trustedHeaders });
  }
}

export interface RpcProxyOptions {
  /** The fully qualified service name, such as invoicer.v1.InvoiceService. */
  service: string;
  /** The API-key check, for a service that needs one. */
  authenticate?: AuthenticateHook;
  forward: ReturnType<typeof rpcForwarder>;
  /** The headers the server believes (internal token, tenant, trace and request id), which replace any a client sent. */
  trustedHeaders: (request: Pick<FastifyRequest, "exchange" | "tenantId">) => Record<string, string>;
}

/** A procedure's path: the service, then one method name (no further segment, no dot segment). */
const procedurePath = /^\/[\w.]+\/[A-Za-z_]\w*(?:\?|$)/;

/**
 * Forwards one service's RPCs to the server, Connect, gRPC-web and gRPC alike, bodies unread:
 * each streams to the server as it arrives and the answer streams back.
 */
export async function rpcProxy(app: FastifyInstance, { service, authenticate, forward, trustedHeaders }: RpcProxyOptions) {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_request, _body, done) => done(null));
  app.route({
    method: ["GET", "POST"],
    url: `/${service}/*`,
    preHandler: async (request, reply) => {
      // gRPC carries its status in HTTP/2 trailers; over HTTP/1.1 the call would run and its status be lost.
      if (isGrpc(request) && request.raw.httpVersionMajor !== 2) {
        return sendRpcError(request, reply, Code.Unimplemented, "gRPC needs HTTP/2");
      }
      if (!procedurePath.test(request.url)) {
        return sendRpcError(request, reply, Code.Unimplemented, `no such method: ${request.url.split("?", 1)[0]}`, { reason: null });
      }
      await authenticate?.call(app, request, reply);
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
