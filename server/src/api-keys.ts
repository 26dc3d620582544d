import { createHash } from "node:crypto";
import { and, eq, isNull } from "drizzle-orm";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { ApiKeyService } from "@invoicer/sdk/invoicer/v1/internal_service_pb";
import { newApiKey } from "@invoicer/platform/api-key-format";
import type { Db } from "./db/client.ts";
import { apiKeys, tenants } from "./db/schema.ts";

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

/** Revokes a key; calls with it fail from then on. */
export async function revokeApiKey(db: Db, apiKey: string): Promise<boolean> {
  const revoked = await db
    .update(apiKeys)
    .set({ revokedAt: new Date() })
    .where(and(eq(apiKeys.keyHash, hashApiKey(apiKey)), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  return revoked.length > 0;
}

/** invoicer.v1.ApiKeyService: the gateway's way to turn a key into its tenant. */
export function apiKeyService(db: Db): ServiceImpl<typeof ApiKeyService> {
  return {
    async authenticateApiKey(req) {
      const [key] = await db
        .select({ tenantId: apiKeys.tenantId })
        .from(apiKeys)
        .where(and(eq(apiKeys.keyHash, hashApiKey(req.apiKey)), isNull(apiKeys.revokedAt)));
      if (!key) throw new ConnectError("unknown or revoked API key", Code.Unauthenticated);
      return { tenantId: key.tenantId };
    },
  };
}
