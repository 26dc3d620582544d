// What one tenant may hold of a gateway at once: calls open to the server, and bytes of answers
// its callers have not taken yet; and how fast it may open streams. Past any bound only that
// tenant's calls are refused or cut.

export interface TenantCapacityLimits {
  /** Calls one tenant may have open through this gateway (streams included). */
  maxOpenCalls: number;
  /** Bytes of answers this gateway holds for one tenant's callers that read slower than the server answers. */
  maxWaitingBytes: number;
  /** The same for every tenant together: what the gateway's memory can hold. */
  maxWaitingBytesTotal: number;
  /** Streams (WatchInvoices) one tenant may open through this gateway per second, and at once; as many more wait their turn. */
  streamOpensPerSecond: number;
  streamOpensBurst: number;
}

export type StreamTurn = { kind: "in"; ms: number } | { kind: "refused"; retryMs: number };

export interface TenantCapacity {
  readonly limits: TenantCapacityLimits;
  /** Takes a call slot for the tenant: false when it has `maxOpenCalls` open already. */
  openCall(tenant: string): boolean;
  closeCall(tenant: string): void;
  /** Takes a turn to open a stream: in how many milliseconds it comes (0: now), or refused with when to ask again. */
  openStream(tenant: string): StreamTurn;
  /** Notes answer bytes held for the tenant's callers: false, noting nothing, when they would pass `maxWaitingBytes`. */
  hold(tenant: string, bytes: number): boolean;
  release(tenant: string, bytes: number): void;
}

/** `now` is the clock of the stream-opening rate (milliseconds; tests pass their own). */
export function tenantCapacity(limits: TenantCapacityLimits, now = () => performance.now()): TenantCapacity {
  const { maxOpenCalls, maxWaitingBytes, maxWaitingBytesTotal } = limits;
  const streamOpens = tokenBuckets(limits.streamOpensPerSecond, limits.streamOpensBurst, now);
  const open = new Map<string, number>();
  const waiting = new Map<string, number>();
  let waitingTotal = 0;
  const add = (counts: Map<string, number>, tenant: string, n: number) => {
    const next = (counts.get(tenant) ?? 0) + n;
    if (next <= 0)
      counts.delete(tenant); // an idle tenant costs no memory
    else counts.set(tenant, next);
  };
  return {
    limits,
    openCall(tenant) {
      if ((open.get(tenant) ?? 0) >= maxOpenCalls) return false;
      add(open, tenant, 1);
      return true;
    },
    closeCall: (tenant) => add(open, tenant, -1),
    openStream: streamOpens,
    hold(tenant, bytes) {
      if ((waiting.get(tenant) ?? 0) + bytes > maxWaitingBytes || waitingTotal + bytes > maxWaitingBytesTotal) return false;
      add(waiting, tenant, bytes);
      waitingTotal += bytes;
      return true;
    },
    release(tenant, bytes) {
      add(waiting, tenant, -bytes);
      waitingTotal -= bytes;
    },
  };
}

/**
 * One token bucket per tenant, refilled continuously. Each open takes a token; one opened past the
 * burst takes a token not yet due and waits for it (so a burst is spread at the rate, not refused
 * and sent again all at once), unless `burst` are waiting already. Past 10,000 tenants the buckets
 * refilled to full are dropped: a full bucket and none are the same, so memory stays bounded.
 */
function tokenBuckets(perSecond: number, burst: number, now: () => number): (tenant: string) => StreamTurn {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const tokensAt = (bucket: { tokens: number; at: number } | undefined, at: number) =>
    bucket ? Math.min(burst, bucket.tokens + ((at - bucket.at) * perSecond) / 1000) : burst;
  const msFor = (tokens: number) => Math.ceil((tokens * 1000) / perSecond);
  return (tenant) => {
    const at = now();
    const tokens = tokensAt(buckets.get(tenant), at);
    if (tokens < 1 - burst) return { kind: "refused", retryMs: msFor(1 - burst - tokens) };
    buckets.set(tenant, { tokens: tokens - 1, at });
    if (buckets.size > 10_000) for (const [t, b] of buckets) if (tokensAt(b, at) >= burst) buckets.delete(t);
    return { kind: "in", ms: tokens >= 1 ? 0 : msFor(1 - tokens) };
  };
}
