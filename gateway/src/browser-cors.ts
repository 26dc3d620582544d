import cors from "@fastify/cors";
import { cors as connectCors } from "@connectrpc/connect";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";

/** CORS for browsers on the listed origins, with the headers Connect, gRPC-web and REST calls use. Unencapsulated: it answers for every route. */
export const browserCors = fp(
  async function browserCors(app: FastifyInstance, { origins }: { origins: string[] }) {
    await app.register(cors, {
      origin: (origin, done) => done(null, origin !== undefined && origins.includes(origin)),
      methods: [...connectCors.allowedMethods],
      allowedHeaders: [...connectCors.allowedHeaders, "Authorization", "Idempotency-Key", "traceparent", "tracestate", "X-Request-Id"],
      exposedHeaders: [...connectCors.exposedHeaders],
      maxAge: 7200,
    });
  },
  { name: "browser-cors" },
);
