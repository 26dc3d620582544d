import { Code } from "@connectrpc/connect";
import { ErrorReason, retryInfo } from "@invoicer/platform/error-details";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { isGrpcFamily, sendRpcError } from "./rpc-errors.ts";

/** A path under a service, as procedures are: /package.Service/... */
const rpcPath = /^\/\w+(?:\.\w+)+\//;

/**
 * The gateway's answers for no route and for errors, in the caller's protocol (RPC, or JSON for
 * the rest). Unencapsulated: they must be the handlers of every route registered after them.
 */
export const errorAnswers = fp(
  async function errorAnswers(app: FastifyInstance) {
    app.setNotFoundHandler(answerNoRoute);
    app.setErrorHandler(answerError);
  },
  { name: "error-answers" },
);

function answerNoRoute(request: FastifyRequest, reply: FastifyReply) {
  const path = request.url.split("?", 1)[0]!;
  if (!isGrpcFamily(request) && !rpcPath.test(path)) return reply.code(404).send({ code: "not_found", message: "no such route" });
  // A protocol error, answered as a Connect server would: no details (the conformance suite checks).
  if (isGrpcFamily(request)) return sendRpcError(request, reply, Code.Unimplemented, `no such method: ${path}`, { reason: null });
  // As Connect servers answer (clients read 404 as unimplemented): a plain 404, and 405 for a verb RPCs do not use.
  const allowed = request.method === "POST" || request.method === "GET";
  if (!allowed) reply.header("allow", "GET, POST");
  return reply
    .code(allowed ? 404 : 405)
    .type("text/plain")
    .send(allowed ? `no such method: ${path}` : `${request.method} is not allowed: RPCs are POST, or GET where they have no side effects`);
}

function answerError(err: { statusCode?: number; message: string; retryAfterMs?: number }, request: FastifyRequest, reply: FastifyReply) {
  const status = err.statusCode ?? 500;
  if (status >= 500) request.log.error({ err }, "gateway error");
  const code =
    status === 413 ? Code.ResourceExhausted : status === 429 ? Code.ResourceExhausted : status < 500 ? Code.InvalidArgument : Code.Internal;
  const message = status < 500 ? err.message : "internal error";
  const reason =
    status === 413
      ? ErrorReason.REQUEST_TOO_LARGE
      : status === 429
        ? ErrorReason.RATE_LIMITED
        : status < 500
          ? ErrorReason.INVALID_REQUEST
          : undefined;
  const details = status === 429 && err.retryAfterMs ? [retryInfo(err.retryAfterMs)] : [];
  return sendRpcError(request, reply, code, message, { httpStatus: status, reason, details });
}
