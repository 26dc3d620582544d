// The standard error details (googleapis google/rpc/error_details.proto) every invoicer.v1 error carries,
// and the one list of ErrorInfo reasons: server and gateway take them from here, so none is spelled twice.
import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema, PreconditionFailureSchema, RetryInfoSchema } from "@invoicer/sdk/google/rpc/error_details_pb";

/** One detail as a ConnectError is built with (connect-es does not export the type). */
export type OutgoingDetail = NonNullable<ConstructorParameters<typeof ConnectError>[3]>[number];

/** google.rpc.ErrorInfo's domain for every reason below. */
export const errorDomain = "invoicer.v1";

/** Stable, machine-readable reasons (google.rpc.ErrorInfo.reason): clients may branch on them; never rename one. */
export const ErrorReason = {
  // InvalidArgument
  VALIDATION_FAILED: "VALIDATION_FAILED",
  INVALID_REQUEST: "INVALID_REQUEST",
  // AlreadyExists
  IDEMPOTENCY_KEY_REUSED: "IDEMPOTENCY_KEY_REUSED",
  // NotFound
  INVOICE_NOT_FOUND: "INVOICE_NOT_FOUND",
  SERVICE_NOT_FOUND: "SERVICE_NOT_FOUND",
  // FailedPrecondition
  INVOICE_NOT_ISSUED: "INVOICE_NOT_ISSUED",
  INVOICE_NOT_CREDITABLE: "INVOICE_NOT_CREDITABLE",
  CREDIT_EXCEEDS_REMAINING: "CREDIT_EXCEEDS_REMAINING",
  INVOICE_NOT_VOIDABLE: "INVOICE_NOT_VOIDABLE",
  DOCUMENT_NOT_READY: "DOCUMENT_NOT_READY",
  DOCUMENT_NOT_ARCHIVED: "DOCUMENT_NOT_ARCHIVED",
  EINVOICE_PROFILE_NOT_MET: "EINVOICE_PROFILE_NOT_MET",
  // ResourceExhausted
  RATE_LIMITED: "RATE_LIMITED",
  KEY_CHECKS_EXHAUSTED: "KEY_CHECKS_EXHAUSTED",
  REQUEST_TOO_LARGE: "REQUEST_TOO_LARGE",
  TOO_MANY_WATCHES: "TOO_MANY_WATCHES",
  TOO_MANY_CALLS_IN_FLIGHT: "TOO_MANY_CALLS_IN_FLIGHT",
  READ_BUDGET_EXHAUSTED: "READ_BUDGET_EXHAUSTED",
  WATCH_TOO_SLOW: "WATCH_TOO_SLOW",
  TOO_MANY_ANSWERS_UNREAD: "TOO_MANY_ANSWERS_UNREAD",
  // Unauthenticated
  API_KEY_MISSING: "API_KEY_MISSING",
  API_KEY_INVALID: "API_KEY_INVALID",
  // Unavailable, Aborted, DeadlineExceeded: retry (with the same idempotency key) is safe
  DATABASE_UNAVAILABLE: "DATABASE_UNAVAILABLE",
  CONFLICT: "CONFLICT",
  DATABASE_TIMEOUT: "DATABASE_TIMEOUT",
  DEADLINE_EXCEEDED: "DEADLINE_EXCEEDED",
  WATCH_INTERRUPTED: "WATCH_INTERRUPTED",
  SHUTTING_DOWN: "SHUTTING_DOWN",
  AUTHENTICATION_UNAVAILABLE: "AUTHENTICATION_UNAVAILABLE",
  SERVER_UNAVAILABLE: "SERVER_UNAVAILABLE",
  // Unimplemented
  METHOD_NOT_FOUND: "METHOD_NOT_FOUND",
  // Internal and anything unexpected
  INTERNAL: "INTERNAL",
} as const;
export type ErrorReason = (typeof ErrorReason)[keyof typeof ErrorReason];

/** The reason an error gets when its site named none: one per code, so an error never leaves without ErrorInfo. */
const reasonByCode: Partial<Record<Code, ErrorReason>> = {
  [Code.InvalidArgument]: ErrorReason.VALIDATION_FAILED,
  [Code.AlreadyExists]: ErrorReason.IDEMPOTENCY_KEY_REUSED,
  [Code.Unauthenticated]: ErrorReason.API_KEY_INVALID,
  [Code.ResourceExhausted]: ErrorReason.RATE_LIMITED,
  [Code.Unavailable]: ErrorReason.SERVER_UNAVAILABLE,
  [Code.DeadlineExceeded]: ErrorReason.DEADLINE_EXCEEDED,
  [Code.Aborted]: ErrorReason.CONFLICT,
  [Code.Unimplemented]: ErrorReason.METHOD_NOT_FOUND,
};

export function defaultReason(code: Code): ErrorReason {
  return reasonByCode[code] ?? ErrorReason.INTERNAL;
}

export function errorInfo(reason: ErrorReason, metadata: Record<string, string> = {}): OutgoingDetail {
  return { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason, domain: errorDomain, metadata }) };
}

/** google.rpc.BadRequest: every violated field by its dotted path in the request, for example "lines[2].quantity". */
export function badRequest(violations: readonly { field: string; description: string }[]): OutgoingDetail {
  const fieldViolations = violations.map(({ field, description }) => ({ field, description }));
  return { desc: BadRequestSchema, value: create(BadRequestSchema, { fieldViolations }) };
}

/** google.rpc.PreconditionFailure: each unmet condition by its type (the rule), its subject and why. */
export function preconditionFailure(violations: readonly { type: string; subject: string; description: string }[]): OutgoingDetail {
  return { desc: PreconditionFailureSchema, value: create(PreconditionFailureSchema, { violations: [...violations] }) };
}

export function retryInfo(delayMs: number): OutgoingDetail {
  return { desc: RetryInfoSchema, value: create(RetryInfoSchema, { retryDelay: durationFromMs(delayMs) }) };
}

/** A ConnectError carrying ErrorInfo with the reason, then any further details. */
export function rpcError(
  message: string,
  code: Code,
  reason: ErrorReason,
  opts: { metadata?: Record<string, string>; details?: OutgoingDetail[] } = {},
): ConnectError {
  return new ConnectError(message, code, undefined, [errorInfo(reason, opts.metadata), ...(opts.details ?? [])]);
}

/** The server's answer for an API key it does not know or that was revoked. */
export const unknownApiKey = () => rpcError("unknown or revoked API key", Code.Unauthenticated, ErrorReason.API_KEY_INVALID);

/**
 * Whether an answer says the API key is unknown or revoked. An Unauthenticated without that reason
 * refused the caller itself (a wrong internal token), which says nothing about the key.
 */
export function isUnknownApiKey(err: unknown): boolean {
  if (!(err instanceof ConnectError) || err.code !== Code.Unauthenticated) return false;
  return err.findDetails(ErrorInfoSchema).some((info) => info.reason === ErrorReason.API_KEY_INVALID);
}

/** True when the error already says its reason (an ErrorInfo detail). */
export function hasErrorInfo(err: ConnectError): boolean {
  return err.details.some((d) => ("desc" in d ? d.desc.typeName : d.type) === ErrorInfoSchema.typeName);
}

/** The error itself when it carries ErrorInfo; otherwise a copy with the code's default reason added. */
export function withErrorInfo(err: ConnectError): ConnectError {
  if (hasErrorInfo(err)) return err;
  const details = [...err.details, errorInfo(defaultReason(err.code))] as OutgoingDetail[];
  return new ConnectError(err.rawMessage, err.code, err.metadata, details, err.cause);
}
