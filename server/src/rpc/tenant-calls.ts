import { Code, type Interceptor } from "@connectrpc/connect";
import { ErrorReason, rpcError } from "@invoicer/platform/error-details";
import { tenantKey } from "./callers.ts";

/** One tenant's unary calls on this server: in flight (running or waiting), running, and the turns waited for. */
interface TenantCalls {
  inFlight: number;
  running: number;
  waiting: (() => void)[];
}

/**
 * Bounds each tenant's unary calls on this server, whichever gateway they come through: at most
 * `maxRunning` run at once (half the database pool: a tenant never takes the connections the others
 * need), the next wait their turn in order, and past `maxCalls` in flight a call is ResourceExhausted
 * at once. WatchInvoices streams are bounded on their own (WATCH_MAX_PER_TENANT). After trustedCallers.
 */
export function callsPerTenant(maxCalls: number, maxRunning: number): Interceptor {
  const tenants = new Map<string, TenantCalls>();
  return (next) => async (req) => {
    const tenant = req.contextValues.get(tenantKey);
    if (!tenant || req.method.methodKind !== "unary") return next(req);
    const calls = tenants.get(tenant) ?? { inFlight: 0, running: 0, waiting: [] };
    if (calls.inFlight >= maxCalls) {
      throw rpcError(
        `at most ${maxCalls} calls in flight per tenant; retry when one has finished`,
        Code.ResourceExhausted,
        ErrorReason.TOO_MANY_CALLS_IN_FLIGHT,
        { metadata: { maxCallsPerTenant: String(maxCalls) } },
      );
    }
    calls.inFlight++;
    tenants.set(tenant, calls);
    try {
      await turnOf(calls, maxRunning, req.signal);
      try {
        return await next(req);
      } finally {
        // The turn goes to the tenant's next waiting call, if any.
        const nextCall = calls.waiting.shift();
        if (nextCall) nextCall();
        else calls.running--;
      }
    } finally {
      if (--calls.inFlight === 0) tenants.delete(tenant);
    }
  };
}

/** Resolves when the call may run: at once under `maxRunning`, else when a running call hands it its turn (or rejects when the caller goes). */
async function turnOf(calls: TenantCalls, maxRunning: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  if (calls.running < maxRunning) {
    calls.running++;
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const run = () => {
      signal.removeEventListener("abort", gone);
      resolve();
    };
    const gone = () => {
      calls.waiting.splice(calls.waiting.indexOf(run), 1);
      reject(signal.reason as Error);
    };
    calls.waiting.push(run);
    signal.addEventListener("abort", gone, { once: true });
  });
}
