import { Code, ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus, codeToString } from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import type { FastifyReply, FastifyRequest } from "fastify";

/** True for gRPC and gRPC-web requests, which carry their status in grpc-status, not the HTTP status. */
export function isGrpcFamily(request: FastifyRequest): boolean {
  return /^application\/grpc/.test(request.headers["content-type"] ?? "");
}

/**
 * Answers a call with an error in its own protocol: a trailers-only response for gRPC and
 * gRPC-web, the JSON error body with its HTTP status for Connect and REST.
 */
export function sendRpcError(
  request: FastifyRequest,
  reply: FastifyReply,
  code: Code,
  message: string,
  httpStatus = codeToHttpStatus(code),
): FastifyReply {
  if (isGrpcFamily(request)) {
    const headers = setTrailerStatus(new Headers(), new ConnectError(message, code));
    headers.forEach((value, name) => reply.header(name, value));
    const contentType = request.headers["content-type"]!.split(";")[0]!;
    return reply.code(200).header("content-type", contentType).send();
  }
  return reply
    .code(httpStatus)
    .header("content-type", "application/json")
    .send(JSON.stringify({ code: codeToString(code), message }));
}
