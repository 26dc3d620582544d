// The per-key rate limit for the whole fleet of gateways: one token bucket per API key in
// PostgreSQL, from which each gateway leases a few tokens at a time (LeaseRateTokens).
import type { Db } from "./db/client.ts";
import { postgresClientOf, sqlNames } from "./db/raw-sql.ts";
import { apiKeyRateBuckets, apiKeys } from "./db/schema.ts";

export interface LeaseRequest {
  keyHash: string;
  /** Tokens wanted, 1 to `burst`. */
  tokens: number;
  /** Unspent tokens of the gateway's lapsed lease, 0 to `burst`: put back before taking. */
  returnedTokens: number;
  ratePerSecond: number;
  burst: number;
}

/**
 * What a lease got: some tokens (maybe none, with the wait for the next one) and the wait until the
 * bucket holds a whole lease again, or nothing for an unknown or revoked key.
 */
export type LeaseResult = { kind: "leased"; granted: number; retryAfterMs: number; nextLeaseAfterMs: number } | { kind: "unknown-key" };

const b = sqlNames(apiKeyRateBuckets);
const k = sqlNames(apiKeys);
// $1 key hash, $2 tokens wanted, $3 rate per second, $4 burst, $5 tokens returned. Time never runs backwards
// for a bucket: a lease that waited for the row lock may have an older now() than the one before it.
const refilled = `least($4::float8, b.${b.tokens} + $5::int + greatest(0, extract(epoch from now() - b.${b.refilledAt})) * $3::float8)`;
const granted = `least($2::int, floor(${refilled}))::int`;

/**
 * Takes back a lapsed lease's unspent tokens, refills and takes in one atomic statement (the row
 * lock orders concurrent leases); a key seen for the first time starts with a full bucket.
 * Revoked and unknown keys match no row: no answer.
 */
export const leaseSql = `with key as (
  select ${k.id} as id from ${k.$table} where ${k.keyHash} = $1 and ${k.revokedAt} is null)
insert into ${b.$table} as b (${b.apiKeyId}, ${b.tokens}, ${b.refilledAt}, ${b.lastGranted})
select id, $4::float8 - least($2::int, $4::int), now(), least($2::int, $4::int) from key
on conflict (${b.apiKeyId}) do update set
  ${b.lastGranted} = ${granted},
  ${b.tokens} = ${refilled} - ${granted},
  ${b.refilledAt} = greatest(b.${b.refilledAt}, now())
returning ${b.lastGranted} as granted, ${b.tokens} as tokens`;

/** Takes up to `tokens` tokens from the key's bucket: one prepared statement, one round trip. */
export async function leaseRateTokens(db: Db, request: LeaseRequest): Promise<LeaseResult> {
  const { keyHash, tokens, returnedTokens, ratePerSecond, burst } = request;
  const [row] = await postgresClientOf(db).unsafe<{ granted: number; tokens: number }[]>(
    leaseSql,
    [keyHash, tokens, ratePerSecond, burst, returnedTokens],
    {
      prepare: true,
    },
  );
  if (!row) return { kind: "unknown-key" };
  const msUntil = (held: number) => Math.max(0, Math.ceil(((held - row.tokens) / ratePerSecond) * 1000));
  const retryAfterMs = row.granted > 0 ? 0 : Math.max(1, msUntil(1));
  return { kind: "leased", granted: row.granted, retryAfterMs, nextLeaseAfterMs: msUntil(tokens) };
}
