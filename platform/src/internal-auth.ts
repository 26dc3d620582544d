import { timingSafeEqual } from "node:crypto";

/** Header carrying the shared secret that only the gateway and the consumer hold. */
export const internalTokenHeader = "invoicer-internal-token";
/** Header carrying the tenant the gateway authenticated; trusted only with a valid internal token. */
export const tenantHeader = "invoicer-tenant-id";
/** Header carrying the hash of the API key the gateway authenticated, so the server can end its streams on revocation. */
export const apiKeyHashHeader = "invoicer-api-key-hash";

/** Compares a presented token with the expected one in constant time. */
export function isInternalToken(presented: string | null | undefined, expected: string): boolean {
  if (!presented) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
