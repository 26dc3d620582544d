// A steady stream of CreateInvoice calls straight to the server replicas, as the gateway makes
// them. A failed call is retried with the same idempotency key on the next replica, as a
// careful client would; every loop here is bounded by attempts or a deadline.
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { InvoiceService, type CreateInvoiceRequest } from "@invoicer/sdk";
import { internalTokenHeader, tenantHeader } from "@invoicer/platform/internal-auth";
import { codeName } from "@invoicer/platform/metrics";

export interface Acked {
  key: string;
  tenantId: string;
  id: string;
  number: bigint;
}

export interface LoadStats {
  sent: number;
  succeeded: number;
  failed: number;
  retries: number;
  /** Failed attempts by Connect code (each retried). */
  errors: Record<string, number>;
  /** Failed attempts by code and message ("unavailable: server unavailable"), to tell what failed. */
  errorMessages: Record<string, number>;
  /** Failed attempts that reached a server and were not Unavailable: a call the server took and then failed. */
  failedInFlight: number;
  acked: Acked[];
  /** Every create that succeeded: when its first attempt began (performance.now()) and how long until it succeeded, retries included. */
  calls: CallTiming[];
  /** Every attempt that failed: when it began, how long it took, and its code. */
  failedAttempts: FailedAttempt[];
}

export interface CallTiming {
  tenantId: string;
  /** performance.now() when the call's first attempt began. */
  startedAt: number;
  ms: number;
}

export interface FailedAttempt extends CallTiming {
  code: string;
}

const maxTries = 60;
/** Each attempt's deadline (connect-timeout-ms): an attempt the server never answers fails with DeadlineExceeded after it. */
export const callTimeoutMs = 5_000;
const retryPauseMs = 250;

/** Clients of the gateway, one per API key (HTTP/1.1 Connect, as a browser-side or REST-ish caller would). */
export function gatewayClients(gatewayUrl: string, apiKeys: string[]): Client<typeof InvoiceService>[] {
  return apiKeys.map((key) =>
    createClient(
      InvoiceService,
      createConnectTransport({
        baseUrl: gatewayUrl,
        httpVersion: "1.1",
        useBinaryFormat: true,
        interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${key}`), next(req))],
      }),
    ),
  );
}

export function invoiceClients(serverUrls: string[], internalToken: string): Client<typeof InvoiceService>[] {
  return serverUrls.map((baseUrl) =>
    createClient(
      InvoiceService,
      createConnectTransport({
        baseUrl,
        httpVersion: "1.1",
        useBinaryFormat: true,
        interceptors: [(next) => (req) => (req.header.set(internalTokenHeader, internalToken), next(req))],
      }),
    ),
  );
}

/**
 * Sends `rate` creates a second for `durationMs`, spread over tenants and replicas; resolves when
 * every call has ended. `clientsOf(tenant)` gives the clients for a tenant's calls (the replicas,
 * or the gateway with the tenant's key); the tenant header is sent too, and only the server believes it.
 */
export async function steadyCreates(options: {
  clientsOf: (tenantIndex: number) => Client<typeof InvoiceService>[];
  tenantIds: string[];
  rate: number;
  durationMs: number;
  request: (key: string, i: number) => CreateInvoiceRequest;
}): Promise<LoadStats> {
  const stats: LoadStats = {
    sent: 0,
    succeeded: 0,
    failed: 0,
    retries: 0,
    errors: {},
    errorMessages: {},
    failedInFlight: 0,
    acked: [],
    calls: [],
    failedAttempts: [],
  };
  const started = Date.now();
  const { sent } = await paced(options.rate, options.durationMs, (i) => {
    const tenant = i % options.tenantIds.length;
    return createWithRetries(options.clientsOf(tenant), i, options.tenantIds[tenant]!, options.request(`fault-${started}-${i}`, i), stats);
  });
  stats.sent = sent;
  return stats;
}

async function createWithRetries(
  clients: Client<typeof InvoiceService>[],
  i: number,
  tenantId: string,
  request: CreateInvoiceRequest,
  stats: LoadStats,
) {
  const startedAt = performance.now();
  for (let attempt = 0; attempt < maxTries; attempt++) {
    const client = clients[(i + attempt) % clients.length]!;
    const attemptedAt = performance.now();
    try {
      const { invoice } = await client.createInvoice(request, { headers: { [tenantHeader]: tenantId }, timeoutMs: callTimeoutMs });
      stats.succeeded++;
      stats.acked.push({ key: request.idempotencyKey, tenantId, id: invoice!.id, number: invoice!.number });
      stats.calls.push({ tenantId, startedAt, ms: performance.now() - startedAt });
      return;
    } catch (err) {
      const { code, rawMessage } = ConnectError.from(err);
      stats.errors[codeName(code)] = (stats.errors[codeName(code)] ?? 0) + 1;
      const what = `${codeName(code)}: ${rawMessage.replace(/\d+/g, "N").slice(0, 100)}`;
      stats.errorMessages[what] = (stats.errorMessages[what] ?? 0) + 1;
      stats.failedAttempts.push({ tenantId, startedAt: attemptedAt, ms: performance.now() - attemptedAt, code: codeName(code) });
      if (!refusedBeforeWork(code)) stats.failedInFlight++;
      stats.retries++;
      await new Promise((r) => setTimeout(r, retryPauseMs));
    }
  }
  stats.failed++;
}

/**
 * Unavailable (no server, or one draining) and ResourceExhausted (a tenant's calls-in-flight bound, checked
 * before the handler runs) refuse a call before any work; every other code failed a call a server took.
 */
function refusedBeforeWork(code: Code): boolean {
  return code === Code.Unavailable || code === Code.ResourceExhausted;
}

/** Failed attempts by code, as "3x deadline_exceeded, 1x unavailable" ("none" for none). */
export function attemptsByCode(attempts: FailedAttempt[]): string {
  const counts = new Map<string, number>();
  for (const a of attempts) counts.set(a.code, (counts.get(a.code) ?? 0) + 1);
  return [...counts].map(([code, n]) => `${n}x ${code}`).join(", ") || "none";
}

/** The `q` quantile (0.99: p99) of `ms`, nearest rank; 0 for none. */
export function quantileMs(ms: number[], q: number): number {
  if (ms.length === 0) return 0;
  const sorted = [...ms].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!);
}

/** Starts call i at `i / rate` seconds whether or not earlier calls have returned; resolves when all have. */
async function paced(rate: number, durationMs: number, call: (i: number) => Promise<void>): Promise<{ sent: number }> {
  const calls: Promise<void>[] = [];
  const started = performance.now();
  const total = Math.round((rate * durationMs) / 1000);
  for (let i = 0; i < total; i++) {
    const wait = started + (i * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait)); // pacing the load, not awaiting a condition
    calls.push(call(i));
  }
  await Promise.all(calls);
  return { sent: total };
}
