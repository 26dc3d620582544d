import { and, eq, isNull, sql } from "drizzle-orm";
import type { ServiceImpl } from "@connectrpc/connect";
import type { ApiKeyService } from "@invoicer/sdk/invoicer/v1/internal_service_pb";
import { hashApiKey, newApiKey } from "@invoicer/platform/api-key-format";
import { unknownApiKey } from "@invoicer/platform/error-details";
import type { Db } from "./db/client.ts";
import { apiKeys, tenants } from "./db/schema.ts";
import { revokedKeyChannel } from "./outbox/notifications.ts";
import { leaseRateTokens } from "./rate-buckets.ts";
import { invalidArgument } from "./rpc/errors.ts";
import { Violations } from "./shared/violations.ts";

export { hashApiKey };

/** Creates the tenant when it is new, then a fresh key for it; the key is returned once and never stored. */
export async function createApiKey(db: Db, tenantName: string): Promise<{ tenantId: string; apiKey: string; keyId: string }> {
  const apiKey = newApiKey();
  return db.transaction(async (tx) => {
    await tx.insert(tenants).values({ name: tenantName }).onConflictDoNothing();
    const [tenant] = await tx.select({ id: tenants.id }).from(tenants).where(eq(tenants.name, tenantName));
    const [key] = await tx
      .insert(apiKeys)
      .values({ tenantId: tenant!.id, keyHash: hashApiKey(apiKey), keyPrefix: apiKey.slice(0, 8) })
      .returning({ id: apiKeys.id });
    return { tenantId: tenant!.id, apiKey, keyId: key!.id };
  });
}

/** A key to revoke: its whole secret, its id, or the prefix printed for it (which must name one active key). */
export type KeyToRevoke = { apiKey: string } | { keyId: string } | { prefix: string };

/** What a revocation did: revoked the key; found no active one; or found a prefix naming several (revoking none). */
export type Revocation = { kind: "revoked"; keyId: string; prefix: string } | { kind: "none" } | { kind: "ambiguous"; keyIds: string[] };

/** Revokes a key by its secret; false when no such key is active. */
export async function revokeApiKey(db: Db, apiKey: string): Promise<boolean> {
  return (await revokeApiKeyBy(db, { apiKey })).kind === "revoked";
}

/**
 * Revokes one active key. Every gateway refuses it at its next lease of the key's tokens, within
 * RATE_LIMIT_LEASE_TTL_MS; the NOTIFY, sent on commit, ends the key's open streams on every server.
 */
export async function revokeApiKeyBy(db: Db, which: KeyToRevoke): Promise<Revocation> {
  return db.transaction(async (tx) => {
    // Locked, so what a prefix names cannot change before the revocation commits.
    const matches = await tx
      .select({ id: apiKeys.id, keyHash: apiKeys.keyHash, keyPrefix: apiKeys.keyPrefix })
      .from(apiKeys)
      .where(and(keyMatching(which), isNull(apiKeys.revokedAt)))
      .orderBy(apiKeys.createdAt)
      .for("update");
    const [key] = matches;
    if (!key) return { kind: "none" };
    if (matches.length > 1) return { kind: "ambiguous", keyIds: matches.map((m) => m.id) };
    await tx.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, key.id));
    await tx.execute(sql`select pg_notify(${revokedKeyChannel}, ${key.keyHash})`);
    return { kind: "revoked", keyId: key.id, prefix: key.keyPrefix };
  });
}

const keyMatching = (which: KeyToRevoke) =>
  "apiKey" in which
    ? eq(apiKeys.keyHash, hashApiKey(which.apiKey))
    : "keyId" in which
      ? eq(apiKeys.id, which.keyId)
      : eq(apiKeys.keyPrefix, which.prefix);

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
