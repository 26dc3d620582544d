import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";

/**
 * Every request counts against its address first, before CORS, authentication or any body.
 * Unencapsulated: the limit is a hook on every route, and `createRateLimit` serves the API-key checks.
 */
export const addressLimits = fp(
  async function addressLimits(app: FastifyInstance, { perSecond }: { perSecond: number }) {
    await app.register(rateLimit, {
      global: false,
      // A guard against floods, not a quota callers plan by: no x-ratelimit-* on every answer (a refusal still has Retry-After).
      addHeadersOnExceeding: { "x-ratelimit-limit": false, "x-ratelimit-remaining": false, "x-ratelimit-reset": false },
    });
    const tooMany = (message: string) => (_request: FastifyRequest, context: { statusCode: number; after: string; ttl: number }) =>
      Object.assign(new Error(`${message}; retry in ${context.after}`), { statusCode: context.statusCode, retryAfterMs: context.ttl });
    app.addHook(
      "onRequest",
      app.rateLimit({
        max: perSecond,
        timeWindow: 1_000,
        errorResponseBuilder: tooMany("too many requests from this address"),
      }),
    );
  },
  { name: "address-limits" },
);
