import type { IncomingMessage, ServerResponse } from "node:http";
import * as http2 from "node:http2";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { Code } from "@connectrpc/connect";
import { ErrorReason } from "@invoicer/platform/error-details";
import type { Logger } from "@invoicer/platform/logger";
import type { Endpoint, ServerEndpoints } from "@invoicer/platform/server-endpoints";
import { deadlineMs, normalizeGrpcMessage, upstreamHeaders, withDeadline } from "./forwarded-headers.ts";
import type { Exchange } from "./exchange.ts";
import { noteGrpcStatus, noteResponseCode } from "./rpc-outcome.ts";
import { resendableBody, type ResendableBody } from "./resendable-body.ts";
import { serverSessions, type ServerSessionOptions } from "./server-sessions.ts";
import type { TenantCapacity } from "./tenant-capacity.ts";

const { HTTP2_HEADER_STATUS, NGHTTP2_CANCEL, NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_INTERNAL_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;

export type CallerRequest = IncomingMessage | Http2ServerRequest;
type CallerResponse = ServerResponse | Http2ServerResponse;

export interface ForwardingLimits extends ServerSessionOptions {
  /** The longest deadline a unary call gets: the caller's, capped at this (and this when it sends none). */
  maxCallMs: number;
  /** The same for streaming calls (WatchInvoices), which hold a stream to the server as long. */
  maxStreamMs: number;
  /** A caller that takes none of the answer bytes held for it for this long has its call cut. */
  stalledReaderMs: number;
  /** Request bytes kept to send a call again to another endpoint (the gateway's body limit). */
  maxBodyBytes: number;
}

/** How the gateway may treat one method of the service. */
export interface MethodPolicy {
  /** Safe to send again after a failure: it has no side effects, or its request carries an idempotency key. */
  retryable: boolean;
  streaming: boolean;
}

/** Who answers the caller: the forwarder once the server's response begins, the caller of `forward` when it never does. */
export interface ForwardedAnswer {
  /** The server's response headers came: the forwarder writes the caller's response from now on, with these headers of the gateway's (CORS, limits). */
  answering(): Record<string, number | string | string[] | undefined>;
  /** The call ends before the server's answer began: answer the caller in its protocol. */
  fail(code: Code, message: string, reason?: ErrorReason): void;
}

export interface ForwardedCall {
  tenant: string;
  /** The request's logger (its request id on every line). */
  log: Pick<Logger, "warn">;
  policy: MethodPolicy;
  exchange: Exchange | undefined;
  answer: ForwardedAnswer;
}

/** What every call of one forwarder goes through: the server's endpoints and sessions, and the bounds. */
interface Forwarding {
  endpoints: ServerEndpoints;
  capacity: TenantCapacity;
  limits: ForwardingLimits;
  sessions: ReturnType<typeof serverSessions>;
}

/** One call on its way: which attempt, what the caller has been sent, what still waits for it. */
interface Flight extends ForwardedCall {
  via: Forwarding;
  req: CallerRequest;
  res: CallerResponse;
  headers: http2.OutgoingHttpHeaders;
  body: ResendableBody;
  upstream?: http2.ClientHttp2Stream;
  tried?: Endpoint;
  attempts: number;
  responded: boolean;
  /** The call is over for the gateway (answered, cut or expired): late upstream events change nothing. */
  settled: boolean;
  /** The caller's response has closed and what it held was given back. */
  closed: boolean;
  waiting: number;
  stall?: NodeJS.Timeout;
  deadline?: NodeJS.Timeout;
  /** When the gateway took the call (performance.now()), and the deadline it gave it. */
  started: number;
  timeoutMs: number;
}

/** Request header bytes forwarded at most: Node's HTTP/1.1 limit, which HTTP/2 callers would pass. */
const maxHeaderBytes = 16 * 1024;

const headerBytes = (req: CallerRequest) => req.rawHeaders.reduce((sum, part) => sum + part.length, 0);

/** How much later than the deadline it passed on the gateway cuts a call the server did not end. */
const deadlineGraceMs = 1_000;

/**
 * Forwards calls of either HTTP version to the server's endpoints over HTTP/2, streaming both ways,
 * one endpoint picked per call. Each call has a deadline, takes a slot of its tenant's capacity, and
 * is read from the server as fast as it answers: what the caller has not taken yet waits here,
 * counted against its tenant, so no session to the server ever fills with one tenant's unread bytes.
 * HTTP/2 callers (gRPC above all) get the response trailers, which carry gRPC's status; HTTP/1.1
 * callers (Connect, gRPC-web) have theirs in the body.
 */
export function rpcForwarder(endpoints: ServerEndpoints, capacity: TenantCapacity, limits: ForwardingLimits, log: Pick<Logger, "warn">) {
  const sessions = serverSessions(endpoints, limits, log);
  const via: Forwarding = { endpoints, capacity, limits, sessions };

  function forward(req: CallerRequest, res: CallerResponse, extraHeaders: Record<string, string>, call: ForwardedCall) {
    // The caller left while the gateway checked its key: nothing to forward, nobody to answer.
    if (callerGone(req, res)) return;
    // The server refuses a stream whose headers pass its limit, and a refusal retires a session: bound them here.
    if (headerBytes(req) > maxHeaderBytes) {
      return call.answer.fail(Code.ResourceExhausted, `request headers exceed ${maxHeaderBytes} bytes`, ErrorReason.REQUEST_TOO_LARGE);
    }
    if (!capacity.openCall(call.tenant)) {
      const message = `too many calls in flight for this tenant (at most ${capacity.limits.maxOpenCalls})`;
      return call.answer.fail(Code.ResourceExhausted, message, ErrorReason.TOO_MANY_CALLS_IN_FLIGHT);
    }
    const timeoutMs = deadlineMs(req, call.policy.streaming ? limits.maxStreamMs : limits.maxCallMs);
    const headers = withDeadline(upstreamHeaders(req, extraHeaders), req, timeoutMs);
    // Kept for any call, until its answer begins: a stream the server refused may go anywhere again.
    const body = resendableBody(req, limits.maxBodyBytes, {
      hold: (bytes) => capacity.hold(call.tenant, bytes),
      release: (bytes) => capacity.release(call.tenant, bytes),
    });
    const flight = { req, res, headers, body, attempts: 0, responded: false, settled: false, closed: false, waiting: 0 };
    const f: Flight = { ...call, ...flight, via, started: performance.now(), timeoutMs };
    f.deadline = setTimeout(() => expire(f), timeoutMs + deadlineGraceMs);
    res.once("close", () => finish(f));
    attempt(f);
  }

  forward.close = () => sessions.close();
  return forward;
}

function attempt(f: Flight): void {
  // Another endpoint for a second try, or the same one (on another session) when it is the only one.
  const endpoint = f.via.endpoints.pick(f.tried) ?? f.via.endpoints.pick();
  if (!endpoint) return fail(f, undefined);
  // A second try gets what is left of the deadline, not all of it again.
  if (f.attempts > 0) f.headers = withDeadline(f.headers, f.req, Math.max(1, Math.floor(f.timeoutMs - (performance.now() - f.started))));
  f.attempts++;
  let upstream: http2.ClientHttp2Stream;
  try {
    upstream = f.via.sessions.request(endpoint, f.headers);
  } catch (err) {
    return settle(f, endpoint, undefined, err as NodeJS.ErrnoException); // the session is going away, or a header HTTP/2 cannot carry
  }
  f.upstream = upstream;
  endpoint.outstanding++;
  let failure: NodeJS.ErrnoException | undefined;
  upstream.on("error", (err) => (failure = err));
  upstream.once("close", () => {
    endpoint.outstanding--;
    settle(f, endpoint, upstream, failure);
  });
  f.body.sendTo(upstream);
  upstream.on("response", (responseHeaders) => respond(f, responseHeaders));
  upstream.on("data", (chunk: Buffer) => deliver(f, chunk));
  upstream.on("trailers", (trailers) => {
    noteGrpcStatus(f.exchange, trailers["grpc-status"]);
    if (f.req.httpVersionMajor === 2) (f.res as Http2ServerResponse).addTrailers(normalizeGrpcMessage(trailers));
  });
  upstream.on("end", () => f.settled || f.res.end());
}

function respond(f: Flight, responseHeaders: http2.IncomingHttpHeaders) {
  if (f.settled) return;
  f.responded = true;
  f.body.forget();
  const { [HTTP2_HEADER_STATUS]: status, ...rest } = responseHeaders;
  for (const name of Object.keys(rest)) if (name.startsWith(":")) delete rest[name];
  noteResponseCode(f.exchange, rest);
  (f.res as ServerResponse).writeHead(Number(status), { ...normalizeGrpcMessage(rest), ...f.answer.answering() });
}

/** An answer chunk goes to the caller at once; what the caller has not taken yet counts against its tenant. */
function deliver(f: Flight, chunk: Buffer) {
  if (f.settled) return;
  if (!f.via.capacity.hold(f.tenant, chunk.length)) return cut(f, "answers held for this tenant's slow callers reached their bound");
  f.waiting += chunk.length;
  f.stall ??= setTimeout(() => cut(f, "the caller stopped reading its answer"), f.via.limits.stalledReaderMs);
  (f.res as ServerResponse).write(chunk, () => {
    if (f.closed) return;
    f.via.capacity.release(f.tenant, chunk.length);
    f.waiting -= chunk.length;
    if (f.waiting > 0) return void f.stall?.refresh();
    clearTimeout(f.stall);
    f.stall = undefined;
  });
}

/** The upstream stream closed: the answer is through, it broke mid-way, or it never began (then another try, or Unavailable). */
function settle(
  f: Flight,
  endpoint: Endpoint,
  upstream: http2.ClientHttp2Stream | undefined,
  failure: NodeJS.ErrnoException | undefined,
): void {
  if (f.settled || callerGone(f.req, f.res)) return;
  if (f.responded) {
    // The server failed mid-answer: the caller must not take a cut-short answer for a whole one.
    if (upstream?.readableEnded) return;
    noteGrpcStatus(f.exchange, Code.Unavailable);
    return resetCaller(f, NGHTTP2_INTERNAL_ERROR);
  }
  const notConnected = neverConnected(failure);
  // A session that was going away says nothing of the endpoint; a connection that could not be made does.
  if (notConnected && failure?.code !== "ERR_HTTP2_GOAWAY_SESSION") f.via.endpoints.unreachable(endpoint);
  // Only REFUSED_STREAM on a live session promises the server did not run it (RFC 9113 §8.7): a session's
  // GOAWAY with an error gives every open stream its code, those the server already ran included.
  const refused = notConnected || (upstream?.rstCode === NGHTTP2_REFUSED_STREAM && failure?.code !== "ERR_HTTP2_SESSION_ERROR");
  if (f.attempts < 2 && (refused || f.policy.retryable) && f.body.resendable()) {
    f.tried = endpoint;
    return attempt(f);
  }
  fail(f, failure);
}

function fail(f: Flight, failure: Error | undefined) {
  f.settled = true;
  f.log.warn({ err: failure }, "server unreachable");
  noteGrpcStatus(f.exchange, Code.Unavailable);
  f.answer.fail(Code.Unavailable, "server unavailable");
}

/** Past the deadline and its grace, and the server has not ended the call: the gateway does. */
function expire(f: Flight) {
  if (f.settled) return;
  f.settled = true;
  f.upstream?.close(NGHTTP2_CANCEL);
  noteGrpcStatus(f.exchange, Code.DeadlineExceeded);
  if (f.responded) resetCaller(f, NGHTTP2_CANCEL);
  else f.answer.fail(Code.DeadlineExceeded, "deadline exceeded");
}

/** One tenant's caller holds too much, or too long: only its call ends (gRPC reads ENHANCE_YOUR_CALM as ResourceExhausted). */
function cut(f: Flight, why: string) {
  if (f.settled) return;
  f.settled = true;
  f.log.warn({ tenant: f.tenant, waitingBytes: f.waiting }, why);
  noteGrpcStatus(f.exchange, Code.ResourceExhausted);
  f.upstream?.close(NGHTTP2_CANCEL);
  resetCaller(f, NGHTTP2_ENHANCE_YOUR_CALM);
}

/** The caller's response closed: its slot and held bytes go back, and the server's work stops if still going. */
function finish(f: Flight) {
  f.closed = true;
  f.settled = true;
  clearTimeout(f.deadline);
  clearTimeout(f.stall);
  f.via.capacity.closeCall(f.tenant);
  f.via.capacity.release(f.tenant, f.waiting);
  f.body.forget();
  if (f.upstream && !f.upstream.closed && !f.upstream.readableEnded) f.upstream.close(NGHTTP2_CANCEL);
}

function resetCaller(f: Flight, code: number) {
  if (f.req.httpVersionMajor === 2) (f.res as Http2ServerResponse).stream.close(code);
  else f.res.destroy();
}

/** No connection was made: nothing reached the server, so the call may go to another endpoint whatever its method. */
export function neverConnected(err: Error | undefined): boolean {
  const codes = [(err as NodeJS.ErrnoException | undefined)?.code, ((err?.cause ?? undefined) as NodeJS.ErrnoException | undefined)?.code];
  return codes.some(
    (c) =>
      c !== undefined &&
      [
        "ECONNREFUSED",
        "EHOSTUNREACH",
        "ENETUNREACH",
        "ENOTFOUND",
        "ETIMEDOUT",
        "ERR_HTTP2_GOAWAY_SESSION",
        "UND_ERR_CONNECT_TIMEOUT",
      ].includes(c),
  );
}

const callerGone = (req: CallerRequest, res: CallerResponse) =>
  req.httpVersionMajor === 2
    ? (res as Http2ServerResponse).stream.destroyed || (res as Http2ServerResponse).stream.closed
    : (res as ServerResponse).destroyed;
