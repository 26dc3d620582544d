import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { ApiKeyService } from "@invoicer/sdk/invoicer/v1/internal_service_pb";

/** Resolves API keys to tenants through the server, remembering answers for `cacheMs`. */
export function apiKeyResolver(client: Client<typeof ApiKeyService>, cacheMs: number) {
  const cache = new Map<string, { tenantId: string; until: number }>();
  return async function tenantOf(apiKey: string): Promise<string | undefined> {
    const hit = cache.get(apiKey);
    if (hit && hit.until > Date.now()) return hit.tenantId;
    try {
      const { tenantId } = await client.authenticateApiKey({ apiKey });
      if (cache.size > 10_000) cache.clear();
      if (cacheMs > 0) cache.set(apiKey, { tenantId, until: Date.now() + cacheMs });
      return tenantId;
    } catch (err) {
      if (err instanceof ConnectError && err.code === Code.Unauthenticated) return undefined;
      throw err;
    }
  };
}

/** A token bucket per key: `perSecond` sustained, `burst` at once. */
export function rateLimiter(perSecond: number, burst: number) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return function allow(key: string): boolean {
    const now = Date.now();
    const bucket = buckets.get(key) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  };
}

/** The key of "Authorization: Bearer <key>", or undefined. */
export function bearerKey(authorization: string | undefined): string | undefined {
  const match = /^Bearer +([\x21-\x7e]{1,200})$/i.exec(authorization ?? "");
  return match?.[1];
}
