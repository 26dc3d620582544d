// Connect and gRPC-web calls over HTTP/1.1 carry their status in the body, so @fastify/reply-from
// carries them, over undici: each call to an endpoint picked for it, on a connection of its own
// for as long as its answer takes (no pipelining), with the same bounds as the forwarder's calls.
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { Code } from "@connectrpc/connect";
import replyFrom from "@fastify/reply-from";
import { ErrorReason } from "@invoicer/platform/error-details";
import type { Endpoint, ServerEndpoints } from "@invoicer/platform/server-endpoints";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Agent } from "undici";
import { deadlineMs, passedOnHeaders, withDeadline } from "./forwarded-headers.ts";
import { noteGrpcStatus } from "./rpc-outcome.ts";
import { neverConnected, type ForwardingLimits, type MethodPolicy } from "./http2-forwarder.ts";
import { sendRpcError } from "./rpc-errors.ts";
import type { TenantCapacity } from "./tenant-capacity.ts";

export interface ProxiedCallOptions {
  endpoints: ServerEndpoints;
  capacity: TenantCapacity;
  limits: ForwardingLimits;
  trustedHeaders: (request: FastifyRequest) => Record<string, string>;
}

export type ProxyCall = Awaited<ReturnType<typeof proxiedCalls>>;

/** How much later than the deadline it passed on the gateway cuts a call the server did not end. */
const deadlineGraceMs = 1_000;

/**
 * Registers reply-from on `app` and returns what proxies one HTTP/1.1 call. undici's Agent keeps a
 * pool per endpoint, without a connection cap: a call whose caller reads slowly holds its own
 * connection, never one another tenant's call waits for.
 */
export async function proxiedCalls(app: FastifyInstance, { endpoints, capacity, limits, trustedHeaders }: ProxiedCallOptions) {
  const agent = new Agent({ pipelining: 1, connections: null });
  await app.register(replyFrom, { undici: agent, disableRequestLogging: true });
  // By now the gateway's callers are gone; an open stream would hold a graceful close for ever.
  app.addHook("onClose", async () => agent.destroy());

  return function proxyCall(request: FastifyRequest, reply: FastifyReply, policy: MethodPolicy): FastifyReply {
    const { tenantId: tenant, raw } = request;
    // The caller left while the gateway checked its key: nothing to forward, nobody to answer.
    if (reply.raw.destroyed) return reply;
    if (!capacity.openCall(tenant)) {
      const message = `too many calls in flight for this tenant (at most ${capacity.limits.maxOpenCalls})`;
      return sendRpcError(request, reply, Code.ResourceExhausted, message, { reason: ErrorReason.TOO_MANY_CALLS_IN_FLIGHT });
    }
    const timeoutMs = deadlineMs(raw, policy.streaming ? limits.maxStreamMs : limits.maxCallMs);
    const headers = withDeadline(passedOnHeaders(raw.headers, trustedHeaders(request)), raw, timeoutMs);
    // A Connect GET has no body: a length the caller sent for one would not match what undici sends.
    if (raw.method === "GET") delete headers["content-length"];
    // undici destroys the body it was given when a call fails: never the caller's own request. Read
    // only as undici sends, so a call that never connected still has its whole body to send again.
    let body: Readable | undefined;
    // The server has not ended the call a second past its deadline: the caller's connection goes, or,
    // before the answer began, the caller is answered and undici's call ends with its body (undici's
    // own timeout for the answer starts only once the whole request is sent).
    const expiry = setTimeout(() => {
      if (reply.raw.headersSent) return cut(request, reply.raw, Code.DeadlineExceeded);
      sendRpcError(request, reply, Code.DeadlineExceeded, "deadline exceeded");
      body?.destroy(new Error("deadline exceeded"));
    }, timeoutMs + deadlineGraceMs);
    reply.raw.once("close", () => {
      clearTimeout(expiry);
      capacity.closeCall(tenant);
    });
    const send = (endpoint: Endpoint | undefined, attempt: number) => {
      if (!endpoint) return unavailable(request, reply, undefined);
      const done = inFlight(endpoint, reply.raw);
      body = raw.method === "GET" ? undefined : lentBody(raw);
      request.body = body;
      reply.from(undefined, {
        getUpstream: () => endpoint.url,
        timeout: timeoutMs + deadlineGraceMs,
        rewriteRequestHeaders: () => headers,
        onResponse: (_request, _reply, res) => {
          // reply-from closes a connection whose request body the server left unread; the HTTP server drops the rest instead, so it serves the next call.
          reply.removeHeader("connection");
          const answer = res.stream as Readable;
          // The caller left after its whole request came (reply-from drops answers only to callers that left mid-request).
          if (reply.raw.destroyed) return void answer.destroy();
          // The server failed mid-answer (the caller leaving destroys the answer too: that is its own outcome).
          answer.once("error", () => reply.raw.destroyed || noteGrpcStatus(request.exchange, Code.Unavailable));
          cutStalledReader(request, reply.raw, limits.stalledReaderMs);
          return reply.send(answer);
        },
        onError: (_reply, { error }) => {
          const cause = (error as Error).cause as NodeJS.ErrnoException | undefined;
          if (cause?.name === "HeadersTimeoutError" || cause?.code === "UND_ERR_HEADERS_TIMEOUT") {
            noteGrpcStatus(request.exchange, Code.DeadlineExceeded);
            return sendRpcError(request, reply, Code.DeadlineExceeded, "deadline exceeded");
          }
          if (!neverConnected(cause)) return unavailable(request, reply, cause);
          // Nothing reached the server: whatever its method, the call goes once more, to another endpoint.
          endpoints.unreachable(endpoint);
          done();
          if (attempt > 1 || raw.readableDidRead) return unavailable(request, reply, cause);
          send(endpoints.pick(endpoint) ?? endpoints.pick(), attempt + 1);
        },
      });
    };
    send(endpoints.pick(), 1);
    return reply;
  };
}

/**
 * The caller's body as undici reads it: nothing is taken from `raw` before undici's first read, and
 * destroying it (undici does, when a call fails or the server answered without reading) leaves `raw` whole.
 */
function lentBody(raw: IncomingMessage): Readable {
  const onData = (chunk: Buffer) => body.push(chunk) || raw.pause();
  const onEnd = () => body.push(null);
  let lent = false;
  const body = new Readable({
    read() {
      if (lent) return void raw.resume();
      lent = true;
      raw.on("data", onData).once("end", onEnd);
    },
    destroy(err, done) {
      raw.off("data", onData).off("end", onEnd);
      done(err);
    },
  });
  return body;
}

/** Counts a call against its endpoint until the caller's response closes, or the returned function is called. */
function inFlight(endpoint: Endpoint, res: ServerResponse): () => void {
  endpoint.outstanding++;
  let counted = true;
  const done = () => {
    if (counted) endpoint.outstanding--;
    counted = false;
  };
  res.once("close", done);
  return done;
}

function unavailable(request: FastifyRequest, reply: FastifyReply, err: Error | undefined) {
  request.log.warn({ err }, "server unreachable");
  return sendRpcError(request, reply, Code.Unavailable, "server unavailable");
}

/** A caller that takes none of its answer for `ms` (its connection's buffer stays full, nothing drained) has its connection cut. */
function cutStalledReader(request: FastifyRequest, res: ServerResponse, ms: number) {
  let drained = false;
  res.on("drain", () => (drained = true));
  const check = setInterval(() => {
    if (res.writableNeedDrain && !drained) cut(request, res, Code.ResourceExhausted);
    drained = false;
  }, ms);
  res.once("close", () => clearInterval(check));
}

function cut(request: FastifyRequest, res: ServerResponse, code: Code) {
  request.log.warn(
    { tenant: request.tenantId },
    code === Code.DeadlineExceeded ? "deadline exceeded" : "the caller stopped reading its answer",
  );
  noteGrpcStatus(request.exchange, code);
  res.destroy();
}
