import type { Client } from "@connectrpc/connect";
import type { ApiKeyService } from "@invoicer/sdk/invoicer/v1/internal_service_pb";
import { isUnknownApiKey } from "@invoicer/platform/error-details";
import { LRUCache } from "lru-cache";
import { serverCallTimeoutMs } from "./server-trust.ts";

export interface KeyRateLimitOptions {
  /** The key's sustained rate across every gateway. */
  perSecond: number;
  /** The most calls the key may make at once across every gateway. */
  burst: number;
  /** One lease takes at most this many milliseconds' worth of the rate (at least one token, at most `burst`). */
  leaseMs: number;
  /** Leased tokens not spent within this lapse (given back with the next lease); it bounds how long a revoked key keeps working. */
  leaseTtlMs: number;
  /** Keys whose leases are remembered; the least recently seen are forgotten first. */
  maxKeys?: number;
  /** A lease the server has not answered within this is Unavailable: a hung server must not hold the key's callers. */
  callTimeoutMs?: number;
}

/** What the per-key limit says about one call. */
export type KeyAllowance =
  { kind: "allowed" } | { kind: "limited"; waitMs: number } | { kind: "revoked" } | { kind: "unavailable"; err: unknown };

/** A gateway's share of one key's bucket: tokens leased from the server and when they lapse. */
interface KeyLease {
  tokens: number;
  expiresAt: number;
  /** Once these tokens are spent, calls are refused here, without asking, until the server's bucket holds a whole lease again. */
  nextLeaseAt: number;
  leasing?: Promise<void>;
}

/** A call that finds the tokens of a fresh lease taken by the calls that waited with it leases once more, then gives up. */
const maxLeasesPerCall = 2;

/**
 * The per-key rate limit for the whole fleet: the bucket lives in PostgreSQL, behind the server's
 * LeaseRateTokens; this gateway leases a few tokens at a time, spends them locally and leases
 * again when they run out or lapse, so the server is asked once per lease, not per call. One lease
 * per key is in flight at a time. Spent before the bucket holds a whole lease again, the key is
 * refused here until it does: a flooding key costs the bucket one lease per lease's refill
 * (leaseMs of the rate), not one per token. Answers "revoked" when the server no longer knows the key, and
 * "unavailable" when it cannot be asked (the call is refused: the limit never fails open).
 */
export function keyRateLimit(client: Client<typeof ApiKeyService>, options: KeyRateLimitOptions) {
  const { perSecond, burst, leaseMs, leaseTtlMs, maxKeys = 100_000, callTimeoutMs = serverCallTimeoutMs } = options;
  const leaseSize = Math.min(burst, Math.max(1, Math.floor((perSecond * leaseMs) / 1000)));
  const leases = new LRUCache<string, KeyLease>({ max: maxKeys });

  const renew = (apiKey: string, lease: KeyLease) =>
    (lease.leasing ??= (async () => {
      // Tokens of a lapsed lease go back to the bucket with this lease, so other gateways may spend them.
      const returnedTokens = Math.min(burst, Math.floor(lease.tokens));
      lease.tokens = 0;
      const { granted, retryAfterMs, nextLeaseAfterMs } = await client.leaseRateTokens(
        { apiKey, tokens: leaseSize, returnedTokens, ratePerSecond: perSecond, burst },
        // A busy server delays the key's calls rather than refusing them: only one that does not answer in callTimeoutMs does.
        { timeoutMs: callTimeoutMs },
      );
      lease.tokens = granted;
      // Lapses counted from the answer: no token outlives the server's revocation check by more than leaseTtlMs and the lease's round trip.
      lease.expiresAt = Date.now() + leaseTtlMs;
      // A server without next_lease_after_ms (older) says only when its next token is due.
      lease.nextLeaseAt = Date.now() + Math.max(granted > 0 ? 0 : Math.max(1, retryAfterMs), nextLeaseAfterMs);
    })().finally(() => (lease.leasing = undefined)));

  return async function allow(apiKey: string): Promise<KeyAllowance> {
    let lease = leases.get(apiKey);
    if (!lease) leases.set(apiKey, (lease = { tokens: 0, expiresAt: 0, nextLeaseAt: 0 }));
    for (let leased = 0; ; leased++) {
      const now = Date.now();
      if (lease.tokens >= 1 && now < lease.expiresAt) {
        lease.tokens -= 1;
        return { kind: "allowed" };
      }
      if (lease.tokens < 1 && now < lease.nextLeaseAt) return { kind: "limited", waitMs: lease.nextLeaseAt - now };
      if (leased === maxLeasesPerCall) return { kind: "limited", waitMs: Math.max(1, Math.ceil(1000 / perSecond)) };
      try {
        await renew(apiKey, lease);
      } catch (err) {
        if (!isUnknownApiKey(err)) return { kind: "unavailable", err };
        leases.delete(apiKey);
        return { kind: "revoked" };
      }
    }
  };
}
