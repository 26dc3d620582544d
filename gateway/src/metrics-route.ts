import { timingSafeEqual } from "node:crypto";
import { sendMetrics } from "@invoicer/platform/metrics";
import type { Observability } from "@invoicer/platform/observability";
import type { FastifyInstance } from "fastify";

/** GET /metrics for Prometheus scrapes that send the metrics token as a bearer token. */
export async function metricsRoute(app: FastifyInstance, { token, metrics }: { token: string; metrics: Observability["metrics"] }) {
  const expected = Buffer.from(`Bearer ${token}`);
  app.get("/metrics", async (request, reply) => {
    const given = Buffer.from(request.headers.authorization ?? "");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return reply.code(401).send({ code: "unauthenticated", message: "send Authorization: Bearer <METRICS_TOKEN>" });
    }
    reply.hijack();
    await sendMetrics(metrics, reply.raw);
  });
}
