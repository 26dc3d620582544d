import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { ApiKeyService } from "@invoicer/sdk/invoicer/v1/internal_service_pb";
import { apiKeyPattern } from "@invoicer/platform/api-key-format";
import { LRUCache } from "lru-cache";

/** Too many key checks are already waiting for the server: answer Unavailable rather than queue more. */
export class KeyCheckBusyError extends Error {}
/** The caller's address has used up its budget of key checks. */
export class KeyCheckBudgetError extends Error {}

export interface ApiKeyResolver {
  /** The tenant of a key the gateway checked within the cache time, `null` for a key known to be bad, else undefined. */
  cached(apiKey: string): string | null | undefined;
  /**
   * Asks the server, when `mayAsk` allows it (KeyCheckBudgetError otherwise); concurrent checks of
   * one key share one call, and one budget answer.
   */
  check(apiKey: string, mayAsk: () => Promise<boolean>): Promise<string | null>;
}

/**
 * Resolves API keys to tenants through the server. Answers, unknown and revoked keys included,
 * are remembered for `cacheMs` (a bounded LRU); at most `maxInFlight` checks wait on the server at once.
 */
export function apiKeyResolver(
  client: Client<typeof ApiKeyService>,
  cacheMs: number,
  maxInFlight = 64,
  maxCached = 10_000,
): ApiKeyResolver {
  const answers = new LRUCache<string, { tenantId: string | null }>({ max: maxCached, ttl: Math.max(1, cacheMs) });
  const inFlight = new Map<string, Promise<string | null>>();
  const ask = async (apiKey: string): Promise<string | null> => {
    try {
      return (await client.authenticateApiKey({ apiKey })).tenantId;
    } catch (err) {
      if (err instanceof ConnectError && err.code === Code.Unauthenticated) return null;
      throw err;
    }
  };
  return {
    cached: (apiKey) => answers.get(apiKey)?.tenantId,
    check(apiKey, mayAsk) {
      const pending = inFlight.get(apiKey);
      if (pending) return pending;
      if (inFlight.size >= maxInFlight) return Promise.reject(new KeyCheckBusyError("too many API key checks in flight"));
      const checking = mayAsk()
        .then((allowed) => (allowed ? ask(apiKey) : Promise.reject(new KeyCheckBudgetError("too many API key checks from this address"))))
        .then((tenantId) => {
          if (cacheMs > 0) answers.set(apiKey, { tenantId });
          return tenantId;
        })
        .finally(() => inFlight.delete(apiKey));
      inFlight.set(apiKey, checking);
      return checking;
    },
  };
}

/**
 * A token bucket per key: `perSecond` sustained, `burst` at once; the least recently seen keys are forgotten first.
 * Answers 0 when the call may go ahead, else the milliseconds until the key's next token.
 */
export function rateLimiter(perSecond: number, burst: number, maxKeys = 100_000) {
  const buckets = new LRUCache<string, { tokens: number; at: number }>({ max: maxKeys });
  return function waitFor(key: string): number {
    const now = Date.now();
    const bucket = buckets.get(key) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    buckets.set(key, bucket);
    if (bucket.tokens < 1) return Math.max(1, Math.ceil(((1 - bucket.tokens) / perSecond) * 1000));
    bucket.tokens -= 1;
    return 0;
  };
}

/** The token of "Authorization: Bearer <token>", or undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return /^Bearer +(\S+)$/i.exec(authorization ?? "")?.[1];
}

/** True when a token has the shape every API key has; others are refused without asking the server. */
export const looksLikeApiKey = (token: string) => apiKeyPattern.test(token);
