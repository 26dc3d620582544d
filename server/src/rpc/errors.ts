import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { FieldViolationsSchema } from "@invoicer/sdk";
import type { Logger } from "@invoicer/platform/logger";
import { transientDatabaseCode } from "../db/errors.ts";
import type { FieldViolation } from "../shared/violations.ts";

/** InvalidArgument naming the first bad field, with every violation attached as a FieldViolations detail. */
export function invalidArgument(violations: FieldViolation[]): ConnectError {
  const [first] = violations;
  const more = violations.length > 1 ? ` (and ${violations.length - 1} more)` : "";
  return new ConnectError(`${first!.field}: ${first!.description}${more}`, Code.InvalidArgument, undefined, [
    { desc: FieldViolationsSchema, value: create(FieldViolationsSchema, { violations }) },
  ]);
}

/** What a caller is told for each transient database failure: a retry (same idempotency key) is safe. */
const transientMessages: Partial<Record<Code, string>> = {
  [Code.Unavailable]: "the database is unavailable; retry later",
  [Code.Aborted]: "the change conflicted with another; retry",
  [Code.DeadlineExceeded]: "the database took too long; retry later",
};

/**
 * The error boundary: errors meant for the client pass through; a database that is down or
 * restarting becomes Unavailable (a caller's retry will succeed); anything else is logged with
 * its cause and becomes a bare Internal, so no SQL, stack or parameter leaves the process.
 */
export function errorBoundary(log: Logger): Interceptor {
  const toClient = (err: unknown, procedure: string) => {
    if (err instanceof ConnectError) return err;
    const transient = transientDatabaseCode(err);
    if (transient !== undefined) {
      log.warn({ err, procedure }, "database unavailable");
      return new ConnectError(transientMessages[transient]!, transient);
    }
    log.error({ err, procedure }, "unexpected error");
    return new ConnectError("internal error", Code.Internal);
  };
  return (next) => async (req) => {
    const procedure = req.method.name;
    try {
      const res = await next(req);
      if (!res.stream) return res;
      const messages = res.message;
      return {
        ...res,
        message: (async function* () {
          try {
            yield* messages;
          } catch (err) {
            throw toClient(err, procedure);
          }
        })(),
      };
    } catch (err) {
      throw toClient(err, procedure);
    }
  };
}

/** Thrown inside a transaction when the caller's deadline passed or it went away: roll back. */
export function assertStillWanted(signal: AbortSignal): void {
  if (signal.aborted) {
    throw new ConnectError("deadline exceeded before commit; nothing was saved", Code.DeadlineExceeded);
  }
}
