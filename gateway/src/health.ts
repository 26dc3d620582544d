import type { FastifyInstance } from "fastify";

export interface HealthRoutesOptions {
  /** Whether any server endpoint the gateway forwards to says SERVING (its health checks run in the background). */
  serverServing: () => boolean;
}

/** /healthz (the process answers) and /readyz (a server endpoint it forwards to is SERVING), without an API key. */
export async function healthRoutes(app: FastifyInstance, { serverServing }: HealthRoutesOptions) {
  app.get("/healthz", async () => ({ status: "ok" }));
  // Answered from the endpoints' last checks: /readyz is open to anyone, so it must not reach the server per request.
  app.get("/readyz", async (_request, reply) => {
    const isReady = serverServing();
    return reply.code(isReady ? 200 : 503).send({ status: isReady ? "ready" : "server not serving" });
  });
}
