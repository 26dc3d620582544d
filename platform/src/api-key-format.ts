import { createHash, randomBytes } from "node:crypto";

/** Every API key is "inv_" and 32 base64url characters (24 random bytes): anything else is refused unchecked. */
export const apiKeyPattern = /^inv_[A-Za-z0-9_-]{32}$/;

/** A new random API key; it is shown once and stored only as a hash. */
export function newApiKey(): string {
  return `inv_${randomBytes(24).toString("base64url")}`;
}

/** The stored form of a key. Keys are random, so a plain SHA-256 is enough to make it useless to a thief. */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}
