import { Code, createContextKey, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import { ErrorReason, retryInfo, rpcError } from "@invoicer/platform/error-details";
import { tenantKey } from "./callers.ts";

export interface ReadBudget {
  /** Invoice lines one tenant's answers may carry per second on this server, on average. */
  perSecond: number;
  /** ...and at once, after a quiet spell. */
  burst: number;
}

/** The lines a call's handler read for its answer, charged to its tenant when the call ends. */
const linesReadKey = createContextKey<{ lines: number } | undefined>(undefined, { description: "invoice lines read" });

/** Notes invoice lines read for the call's answer (the handler's share of its tenant's read budget). */
export function noteLinesRead(ctx: HandlerContext, lines: number): void {
  const read = ctx.values.get(linesReadKey);
  if (read) read.lines += lines;
}

/**
 * Bounds the invoice lines each tenant's answers carry on this server (READ_LINES_PER_SECOND_PER_TENANT,
 * a token bucket): the server's work for a read (query, rows, serialization) grows with them, while
 * its request stays a few bytes. Lines are charged when the call ends, so an answer may take the
 * budget below zero; the tenant's calls are ResourceExhausted until it is above zero again. Creates
 * are not charged: their lines come in the request, bounded by its size. After trustedCallers.
 */
export function readBudgetPerTenant({ perSecond, burst }: ReadBudget, now = () => performance.now()): Interceptor {
  // Only tenants that spent part of their burst have an entry: a full budget is the default.
  const budgets = new Map<string, { lines: number; at: number }>();
  const refilled = (tenant: string) => {
    const t = now();
    const budget = budgets.get(tenant) ?? { lines: burst, at: t };
    budget.lines = Math.min(burst, budget.lines + ((t - budget.at) * perSecond) / 1000);
    budget.at = t;
    return budget;
  };
  const spend = (tenant: string, lines: number) => {
    const budget = refilled(tenant);
    budget.lines -= lines;
    if (budget.lines < burst) budgets.set(tenant, budget);
    else budgets.delete(tenant);
  };
  return (next) => async (req) => {
    const tenant = req.contextValues.get(tenantKey);
    if (!tenant) return next(req);
    const { lines } = refilled(tenant);
    if (lines >= burst) budgets.delete(tenant); // refilled: an idle tenant costs no memory
    if (lines <= 0) {
      const waitMs = Math.ceil(((1 - lines) * 1000) / perSecond);
      throw rpcError(
        `this tenant's answers carried more than ${perSecond} invoice lines a second on this server; retry in ${Math.ceil(waitMs / 1000)} s`,
        Code.ResourceExhausted,
        ErrorReason.READ_BUDGET_EXHAUSTED,
        { details: [retryInfo(waitMs)] },
      );
    }
    const read = { lines: 0 };
    req.contextValues.set(linesReadKey, read);
    try {
      return await next(req);
    } finally {
      if (read.lines > 0) spend(tenant, read.lines);
    }
  };
}
