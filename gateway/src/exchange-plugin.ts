import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { exchangeOf, type Exchange } from "./exchange.ts";
import { noteResponseCode } from "./rpc-outcome.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** What observeRequests notes about this request; undefined for requests it did not see (inject()). */
    readonly exchange: Exchange | undefined;
  }
}

/**
 * The exchange as `request.exchange`, and what Fastify learns for it: the route pattern (which names
 * non-RPC spans and metrics) and the RPC outcome a response carries in its headers.
 */
export const requestObservation = fp(
  async function requestObservation(app: FastifyInstance) {
    app.decorateRequest("exchange", {
      getter(this: FastifyRequest) {
        return exchangeOf(this.raw);
      },
    });
    app.addHook("onRequest", noteRoute);
    app.addHook("onSend", noteSentStatus);
  },
  { name: "request-observation" },
);

function noteRoute(request: FastifyRequest, _reply: FastifyReply, done: () => void): void {
  const exchange = request.exchange;
  if (exchange) exchange.route = request.routeOptions.url;
  done();
}

function noteSentStatus(request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void): void {
  noteResponseCode(request.exchange, reply.getHeaders());
  done(null, payload);
}
