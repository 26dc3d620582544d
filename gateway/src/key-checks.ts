import type { Client } from "@connectrpc/connect";
import type { ApiKeyService } from "@invoicer/sdk/invoicer/v1/internal_service_pb";
import { apiKeyPattern } from "@invoicer/platform/api-key-format";
import { isUnknownApiKey } from "@invoicer/platform/error-details";
import { LRUCache } from "lru-cache";
import { serverCallTimeoutMs } from "./server-trust.ts";

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
  /** Remembers a key the server has since called revoked as bad, as if it had just been checked. */
  revoked(apiKey: string): void;
}

/**
 * Resolves API keys to tenants through the server. Answers, unknown and revoked keys included,
 * are remembered for `cacheMs` (bounded LRUs: `maxCached` good keys, a tenth as many bad ones);
 * at most `maxInFlight` checks wait on the server at once.
 */
export function apiKeyResolver(
  client: Client<typeof ApiKeyService>,
  cacheMs: number,
  maxInFlight = 64,
  maxCached = 10_000,
  callTimeoutMs = serverCallTimeoutMs,
): ApiKeyResolver {
  // Good and bad keys are kept apart: a flood of made-up keys (each within its address's check budget)
  // evicts only other bad ones, never the tenants' keys.
  const ttl = Math.max(1, cacheMs);
  const good = new LRUCache<string, string>({ max: maxCached, ttl });
  const bad = new LRUCache<string, true>({ max: Math.max(1, Math.floor(maxCached / 10)), ttl });
  const remember = (apiKey: string, tenantId: string | null) => {
    if (cacheMs <= 0) return;
    good.delete(apiKey);
    bad.delete(apiKey);
    if (tenantId === null) bad.set(apiKey, true);
    else good.set(apiKey, tenantId);
  };
  const inFlight = new Map<string, Promise<string | null>>();
  const ask = async (apiKey: string): Promise<string | null> => {
    try {
      return (await client.authenticateApiKey({ apiKey }, { timeoutMs: callTimeoutMs })).tenantId;
    } catch (err) {
      if (isUnknownApiKey(err)) return null;
      throw err;
    }
  };
  return {
    cached: (apiKey) => good.get(apiKey) ?? (bad.has(apiKey) ? null : undefined),
    revoked: (apiKey) => remember(apiKey, null),
    check(apiKey, mayAsk) {
      const pending = inFlight.get(apiKey);
      if (pending) return pending;
      if (inFlight.size >= maxInFlight) return Promise.reject(new KeyCheckBusyError("too many API key checks in flight"));
      const checking = mayAsk()
        .then((allowed) => (allowed ? ask(apiKey) : Promise.reject(new KeyCheckBudgetError("too many API key checks from this address"))))
        .then((tenantId) => {
          remember(apiKey, tenantId);
          return tenantId;
        })
        .finally(() => inFlight.delete(apiKey));
      inFlight.set(apiKey, checking);
      return checking;
    },
  };
}

/** The token of "Authorization: Bearer <token>", or undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return /^Bearer +(\S+)$/i.exec(authorization ?? "")?.[1];
}

/** True when a token has the shape every API key has; others are refused without asking the server. */
export const looksLikeApiKey = (token: string) => apiKeyPattern.test(token);
