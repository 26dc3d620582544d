import { createHash } from "node:crypto";
import { and, eq, isNull } from "drizzle-orm";
import type { ServiceImpl } from "@connectrpc/connect";
import type { ApiKeyService } from "@invoicer/sdk/invoicer/v1/internal_service_pb";
import { newApiKey } from "@invoicer/platform/api-key-format";
import { unknownApiKey } from "@invoicer/platform/error-details";
import type { Db } from "./db/client.ts";
import { apiKeys, tenants } from "./db/schema.ts";
import { leaseRateTokens } from "./rate-buckets.ts";
import { invalidArgument } from "./rpc/errors.ts";
import { Violations } from "./shared/violations.ts";

/** Keys are random, so a plain SHA-256 is enough to make the stored value useless to a thief. */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** Creates the tenant when it is new, then a fresh key for it; the key is returned once and never stored. */
export async function createApiKey(db: Db, tenantName: string): Promise<{ tenantId: string; apiKey: string }> {
  const apiKey = newApiKey();
  return db.transaction(async (tx) => {
    await tx.insert(tenants).values({ name: tenantName }).onConflictDoNothing();
    const [tenant] = await tx.select({ id: tenants.id }).from(tenants).where(eq(tenants.name, tenantName));
    await tx.insert(apiKeys).values({ tenantId: tenant!.id, keyHash: hashApiKey(apiKey), keyPrefix: apiKey.slice(0, 8) });
    return { tenantId: tenant!.id, apiKey };
  });
}

/** Revokes a key; every gateway refuses it at its next lease of the key's tokens, within RATE_LIMIT_LEASE_TTL_MS. */
export async function revokeApiKey(db: Db, apiKey: string): Promise<boolean> {
  const revoked = await db
    .update(apiKeys)
    .set({ revokedAt: new Date() })
    .where(and(eq(apiKeys.keyHash, hashApiKey(apiKey)), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  return revoked.length > 0;
}

/** The gateways' fleet-wide buckets hold at most this many tokens (their RATE_LIMIT_* settings' ceiling). */
const maxBucket = 1_000_000;

/** A lease's violations: a rate and burst within the gateways' bounds, 1 to `burst` tokens, at most `burst` returned. */
function leaseViolations(req: { tokens: number; returnedTokens: number; ratePerSecond: number; burst: number }) {
  const v = new Violations();
  if (req.ratePerSecond < 1 || req.ratePerSecond > maxBucket) v.add("rate_per_second", `must be 1 to ${maxBucket}`);
  if (req.burst < 1 || req.burst > maxBucket) v.add("burst", `must be 1 to ${maxBucket}`);
  if (req.tokens < 1 || req.tokens > req.burst) v.add("tokens", "must be 1 to burst");
  if (req.returnedTokens > req.burst) v.add("returned_tokens", "must be 0 to burst");
  return v.list;
}

/** invoicer.v1.ApiKeyService: the gateway's way to turn a key into its tenant, and to lease (and give back) its rate-limit tokens. */
export function apiKeyService(db: Db): ServiceImpl<typeof ApiKeyService> {
  return {
    async leaseRateTokens(req) {
      const violations = leaseViolations(req);
      if (violations.length > 0) throw invalidArgument(violations);
      const { tokens, returnedTokens, ratePerSecond, burst } = req;
      const lease = await leaseRateTokens(db, { keyHash: hashApiKey(req.apiKey), tokens, returnedTokens, ratePerSecond, burst });
      if (lease.kind === "unknown-key") throw unknownApiKey();
      return { granted: lease.granted, retryAfterMs: lease.retryAfterMs, nextLeaseAfterMs: lease.nextLeaseAfterMs };
    },
    async authenticateApiKey(req) {
      const [key] = await db
        .select({ tenantId: apiKeys.tenantId })
        .from(apiKeys)
        .where(and(eq(apiKeys.keyHash, hashApiKey(req.apiKey)), isNull(apiKeys.revokedAt)));
      if (!key) throw unknownApiKey();
      return { tenantId: key.tenantId };
    },
  };
}
