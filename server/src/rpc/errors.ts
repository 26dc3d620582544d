import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { FieldViolationsSchema } from "@invoicer/sdk";
import { badRequest, ErrorReason, rpcError } from "@invoicer/platform/error-details";
import type { Logger } from "@invoicer/platform/logger";
import { transientDatabaseCode } from "../db/errors.ts";
import type { FieldViolation } from "../shared/violations.ts";

/**
 * InvalidArgument naming the first bad field, with ErrorInfo (VALIDATION_FAILED) and every violation as
 * google.rpc.BadRequest; invoicer.v1.FieldViolations (the same paths) stays alongside for one release.
 */
export function invalidArgument(violations: FieldViolation[]): ConnectError {
  const [first] = violations;
  const more = violations.length > 1 ? ` (and ${violations.length - 1} more)` : "";
  return rpcError(`${first!.field}: ${first!.description}${more}`, Code.InvalidArgument, ErrorReason.VALIDATION_FAILED, {
    metadata: { field: first!.field, violations: String(violations.length) },
    details: [badRequest(violations), { desc: FieldViolationsSchema, value: create(FieldViolationsSchema, { violations }) }],
  });
}

/** What a caller is told for each transient database failure: a retry (same idempotency key) is safe. */
const transientMessages: Partial<Record<Code, [string, ErrorReason]>> = {
  [Code.Unavailable]: ["the database is unavailable; retry later", ErrorReason.DATABASE_UNAVAILABLE],
  [Code.Aborted]: ["the change conflicted with another; retry", ErrorReason.CONFLICT],
  [Code.DeadlineExceeded]: ["the database took too long; retry later", ErrorReason.DATABASE_TIMEOUT],
};

/**
 * The error boundary: errors meant for the client pass through; a database that is down or
 * restarting becomes Unavailable (a caller's retry will succeed); anything else is logged with
 * its cause and becomes a bare Internal, so no SQL, stack or parameter leaves the process. The
 * errors it makes carry google.rpc.ErrorInfo, as the service's own do.
 */
export function errorBoundary(log: Logger): Interceptor {
  const toClient = (err: unknown, procedure: string, signal: AbortSignal) => {
    // As raised: the service's own errors name their reason; connect-es's protocol errors (an
    // incomplete message, a missing request) carry none, as the protocol and its conformance suite say.
    if (err instanceof ConnectError) return err;
    if (signal.aborted) return callerGone(signal, log, procedure, err);
    const transient = transientDatabaseCode(err);
    if (transient !== undefined) {
      log.warn({ err, procedure }, "database unavailable");
      const [message, reason] = transientMessages[transient]!;
      return rpcError(message, transient, reason);
    }
    log.error({ err, procedure }, "unexpected error");
    return rpcError("internal error", Code.Internal, ErrorReason.INTERNAL);
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
            throw toClient(err, procedure, req.signal);
          }
        })(),
      };
    } catch (err) {
      throw toClient(err, procedure, req.signal);
    }
  };
}

/**
 * What failed after the caller left or its deadline passed (a query cut by the call's signal, say) is
 * that, not a fault of the server: the signal's own Canceled or DeadlineExceeded, logged at debug.
 */
function callerGone(signal: AbortSignal, log: Logger, procedure: string, err: unknown): ConnectError {
  const reason = signal.reason instanceof ConnectError ? signal.reason : undefined;
  log.debug({ err, procedure, code: reason?.code ?? Code.Canceled }, "call ended by its caller");
  return reason ?? new ConnectError("the caller cancelled the call", Code.Canceled);
}

/** Thrown inside a transaction when the caller's deadline passed or it went away: roll back. */
export function assertStillWanted(signal: AbortSignal): void {
  if (signal.aborted) {
    throw rpcError("deadline exceeded before commit; nothing was saved", Code.DeadlineExceeded, ErrorReason.DEADLINE_EXCEEDED);
  }
}
