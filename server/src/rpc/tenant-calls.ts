import { Code, type Interceptor } from "@connectrpc/connect";
import { InvoiceService } from "@invoicer/sdk";
import { ErrorReason, rpcError } from "@invoicer/platform/error-details";
import { tenantKey } from "./callers.ts";

/** One tenant's calls of one kind that take turns: how many run, and the turns waited for, in order. */
interface Turns {
  running: number;
  waiting: (() => void)[];
}

/** One tenant's unary calls on this server: in flight (running or waiting), the turns of all of them, and of its pages. */
interface TenantCalls {
  inFlight: number;
  all: Turns;
  pages: Turns;
}

export interface TenantCallLimits {
  /** Calls in flight (running or waiting) past which the next is ResourceExhausted at once. */
  maxCalls: number;
  /** Calls that run at once. */
  maxRunning: number;
  /** ListInvoices calls that run at once (of `maxRunning`). */
  maxRunningPages: number;
}

/**
 * Bounds each tenant's unary calls on this server, whichever gateway they come through: at most
 * `maxRunning` run at once (half the database pool: a tenant never takes the connections the others
 * need), the next wait their turn in order, and past `maxCalls` in flight a call is ResourceExhausted
 * at once. Of them, at most `maxRunningPages` ListInvoices: a page carries up to 1,000 lines, ten
 * times any other answer, and the process serializes it in one stretch; a tenant's pages built
 * together held another tenant's calls behind all of them (decision 0041). WatchInvoices streams are
 * bounded on their own (WATCH_MAX_PER_TENANT). After trustedCallers.
 */
export function callsPerTenant({ maxCalls, maxRunning, maxRunningPages }: TenantCallLimits): Interceptor {
  const tenants = new Map<string, TenantCalls>();
  return (next) => async (req) => {
    const tenant = req.contextValues.get(tenantKey);
    if (!tenant || req.method.methodKind !== "unary") return next(req);
    const calls = tenants.get(tenant) ?? { inFlight: 0, all: { running: 0, waiting: [] }, pages: { running: 0, waiting: [] } };
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
    const run = () => inTurn(calls.all, maxRunning, req.signal, () => next(req));
    try {
      // A page waits for the tenant's page before it first, so while it waits it holds none of the tenant's turns.
      return await (req.method === InvoiceService.method.listInvoices ? inTurn(calls.pages, maxRunningPages, req.signal, run) : run());
    } finally {
      if (--calls.inFlight === 0) tenants.delete(tenant);
    }
  };
}

/** Runs `call` in its turn among `turns` (at most `max` at once); the turn then goes to the next waiting call, if any. */
async function inTurn<T>(turns: Turns, max: number, signal: AbortSignal, call: () => Promise<T>): Promise<T> {
  await turnOf(turns, max, signal);
  try {
    return await call();
  } finally {
    const nextCall = turns.waiting.shift();
    if (nextCall) nextCall();
    else turns.running--;
  }
}

/** Resolves when the call may run: at once under `max`, else when a running call hands it its turn (or rejects when the caller goes). */
async function turnOf(turns: Turns, max: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  if (turns.running < max) {
    turns.running++;
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const run = () => {
      signal.removeEventListener("abort", gone);
      resolve();
    };
    const gone = () => {
      turns.waiting.splice(turns.waiting.indexOf(run), 1);
      reject(signal.reason as Error);
    };
    turns.waiting.push(run);
    signal.addEventListener("abort", gone, { once: true });
  });
}
