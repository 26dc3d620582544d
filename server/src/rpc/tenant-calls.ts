import { Code, type Interceptor } from "@connectrpc/connect";
import { ErrorReason, rpcError } from "@invoicer/platform/error-details";
import { tenantKey } from "./callers.ts";

/**
 * Bounds each tenant's unary calls in flight on this server (MAX_CALLS_PER_TENANT), whichever
 * gateway they come through: past the bound a call is ResourceExhausted at once, so one tenant's
 * piled-up or stalled calls cannot hold every database connection while the others wait.
 * WatchInvoices streams are bounded on their own (WATCH_MAX_PER_TENANT). After trustedCallers.
 */
export function callsPerTenant(maxCalls: number): Interceptor {
  const inFlight = new Map<string, number>();
  const release = (tenant: string) => {
    const left = inFlight.get(tenant)! - 1;
    if (left === 0) inFlight.delete(tenant);
    else inFlight.set(tenant, left);
  };
  return (next) => async (req) => {
    const tenant = req.contextValues.get(tenantKey);
    if (!tenant || req.method.methodKind !== "unary") return next(req);
    const calls = inFlight.get(tenant) ?? 0;
    if (calls >= maxCalls) {
      throw rpcError(
        `at most ${maxCalls} calls in flight per tenant; retry when one has finished`,
        Code.ResourceExhausted,
        ErrorReason.TOO_MANY_CALLS_IN_FLIGHT,
        { metadata: { maxCallsPerTenant: String(maxCalls) } },
      );
    }
    inFlight.set(tenant, calls + 1);
    try {
      return await next(req);
    } finally {
      release(tenant);
    }
  };
}
