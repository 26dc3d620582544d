import { Code } from "@connectrpc/connect";

/** postgres.js and socket codes of a connection that could not be made or was lost. */
const connectionCodes = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** SQLSTATEs that say the database cannot serve now (not that the statement is wrong). */
const unavailableStates = new Set(["57P01", "57P02", "57P03", "53300", "53400"]);
/** SQLSTATEs of a transaction that lost a race, or was ended waiting on one that stalled, and may simply be run again. */
const retryableStates = new Set(["40001", "40P01", "25P03", "25P04"]);

/**
 * The Connect code for a database failure that is not the request's fault: Unavailable while the
 * database is down, restarting or out of connections, Aborted for a lost serialization race.
 * Undefined for anything else (a bug: Internal). Looks through drizzle's wrapping to the cause.
 */
export function transientDatabaseCode(err: unknown): Code | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    const code = typeof e.code === "string" ? e.code : "";
    if (connectionCodes.has(code) || code.startsWith("08") || unavailableStates.has(code)) return Code.Unavailable;
    if (retryableStates.has(code)) return Code.Aborted;
    if (code === "57014") return Code.DeadlineExceeded; // statement_timeout
  }
  return undefined;
}
