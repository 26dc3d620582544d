import type { ServiceImpl } from "@connectrpc/connect";
import { Code } from "@connectrpc/connect";
import { ErrorReason, rpcError } from "@invoicer/platform/error-details";
import { Health, HealthCheckResponse_ServingStatus as Status } from "@invoicer/sdk/grpc/health/v1/health_pb";

/** grpc.health.v1.Health: SERVING while the database answers, for "" and the listed services. */
export function healthService(services: string[], databaseIsUp: () => Promise<boolean>): ServiceImpl<typeof Health> {
  const check = async (service: string) => {
    if (service !== "" && !services.includes(service)) {
      throw rpcError(`unknown service ${service}`, Code.NotFound, ErrorReason.SERVICE_NOT_FOUND);
    }
    return { status: (await databaseIsUp()) ? Status.SERVING : Status.NOT_SERVING };
  };
  return {
    check: (req) => check(req.service),
    async *watch(req, ctx) {
      yield await check(req.service);
      // Status changes are not pushed; the stream stays open until the client leaves.
      await new Promise((done) => ctx.signal.addEventListener("abort", done, { once: true }));
    },
  };
}
