import { randomBytes } from "node:crypto";

/** Every API key is "inv_" and 32 base64url characters (24 random bytes): anything else is refused unchecked. */
export const apiKeyPattern = /^inv_[A-Za-z0-9_-]{32}$/;

/** A new random API key; it is shown once and stored only as a hash. */
export function newApiKey(): string {
  return `inv_${randomBytes(24).toString("base64url")}`;
}
