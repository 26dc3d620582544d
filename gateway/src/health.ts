import type { Client } from "@connectrpc/connect";
import { InvoiceService } from "@invoicer/sdk";
import { HealthCheckResponse_ServingStatus as Status, type Health } from "@invoicer/sdk/grpc/health/v1/health_pb";
import type { FastifyInstance } from "fastify";

/** How long one readiness answer is reused: /readyz is open to anyone, so it must not reach the database per request. */
const readinessReuseMs = 1_000;

/** /healthz (the process answers) and /readyz (the server behind it is SERVING), without an API key. */
export async function healthRoutes(app: FastifyInstance, { health }: { health: Client<typeof Health> }) {
  let answer: { ready: Promise<boolean>; at: number } | undefined;
  const ready = () => {
    if (!answer || Date.now() - answer.at > readinessReuseMs) {
      const checking = health.check({ service: InvoiceService.typeName }, { timeoutMs: 2000 }).then(
        (r) => r.status === Status.SERVING,
        () => false,
      );
      answer = { ready: checking, at: Date.now() };
    }
    return answer.ready;
  };
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    const isReady = await ready();
    return reply.code(isReady ? 200 : 503).send({ status: isReady ? "ready" : "server not serving" });
  });
}
