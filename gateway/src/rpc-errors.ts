import { create, createRegistry, fromBinary, toJson, type JsonObject } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  codeToString,
  contentTypeStreamRegExp,
  endStreamFlag,
  endStreamToJson,
  errorToJson,
} from "@connectrpc/connect/protocol-connect";
import { BadRequestSchema, ErrorInfoSchema, PreconditionFailureSchema, RetryInfoSchema } from "@invoicer/sdk/google/rpc/error_details_pb";
import { defaultReason, rpcError, type ErrorReason, type OutgoingDetail } from "@invoicer/platform/error-details";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import type { Http2ServerResponse, OutgoingHttpHeaders } from "node:http2";
import type { FastifyReply, FastifyRequest } from "fastify";
import { normalizeGrpcMessage } from "./forwarded-headers.ts";
import { noteGrpcStatus } from "./rpc-outcome.ts";

/** True for gRPC and gRPC-web requests, which carry their status in grpc-status, not the HTTP status. */
export function isGrpcFamily(request: FastifyRequest): boolean {
  return /^application\/grpc/.test(request.headers["content-type"] ?? "");
}

/** True for gRPC proper (application/grpc, application/grpc+proto), not gRPC-web. */
export function isGrpc(request: FastifyRequest): boolean {
  return /^application\/grpc(?:$|[+;\s])/i.test(request.headers["content-type"] ?? "");
}

export interface RpcErrorOptions {
  /** The HTTP status for Connect and REST; the code's own by default. */
  httpStatus?: number;
  /** google.rpc.ErrorInfo's reason; the code's default reason when not given; null for none (protocol errors). */
  reason?: ErrorReason | null;
  metadata?: Record<string, string>;
  /** Further details (google.rpc.RetryInfo, ...) after the ErrorInfo. */
  details?: OutgoingDetail[];
}

/**
 * Answers a call with an error in its own protocol: a trailers-only response for gRPC and
 * gRPC-web (details in grpc-status-details-bin), the end-stream message of a Connect stream, the
 * JSON error body {code, message, details} with its HTTP status for Connect's unary calls ({type,
 * value} details) and REST ({"@type", ...} details). Every answer carries google.rpc.ErrorInfo.
 */
export function sendRpcError(
  request: FastifyRequest,
  reply: FastifyReply,
  code: Code,
  message: string,
  { httpStatus = codeToHttpStatus(code), reason = defaultReason(code), metadata, details }: RpcErrorOptions = {},
): FastifyReply {
  noteGrpcStatus(request.exchange, code);
  const error = reason === null ? new ConnectError(message, code) : rpcError(message, code, reason, { metadata, details });
  const contentType = request.headers["content-type"] ?? "";
  if (isGrpcFamily(request)) {
    const headers = normalizeGrpcMessage(Object.fromEntries(setTrailerStatus(new Headers(), error)));
    const grpcType = contentType.split(";")[0]!;
    if (request.raw.httpVersionMajor === 2) {
      // A trailers-only response: one HEADERS frame that ends the stream, as gRPC clients expect.
      reply.hijack();
      const { stream } = reply.raw as unknown as Http2ServerResponse;
      if (stream.destroyed || stream.closed) return reply; // the caller has gone: respond() would throw
      // With the headers set on the reply before (retry-after), which hijacking would otherwise drop.
      stream.respond(
        { ...(reply.getHeaders() as OutgoingHttpHeaders), ":status": 200, "content-type": grpcType, ...headers },
        { endStream: true },
      );
      return reply;
    }
    for (const [name, value] of Object.entries(headers)) reply.header(name, value);
    return reply.code(200).header("content-type", grpcType).send();
  }
  if (contentTypeStreamRegExp.test(contentType)) {
    // A Connect stream's error is its end-stream message, HTTP 200: a client reads an HTTP status as the code it maps to (429 as Unavailable).
    const endStream = Buffer.from(JSON.stringify(endStreamToJson(new Headers(), error, undefined)));
    return reply
      .code(200)
      .header("content-type", contentType)
      .send(Buffer.from(encodeEnvelope(endStreamFlag, endStream)));
  }
  return reply
    .code(httpStatus)
    .header("content-type", "application/json")
    .send(JSON.stringify(isRest(request) ? restError(error) : errorToJson(error, undefined)));
}

/** True for the REST/JSON routes (/v1/...), whose error details are plain JSON rather than Connect's base64. */
const isRest = (request: FastifyRequest) => request.url.startsWith("/v1/");

const restError = (error: ConnectError) => ({ code: codeToString(error.code), message: error.rawMessage, details: restDetails(error) });

/** The details REST shows, in the proto JSON mapping of google.protobuf.Any: {"@type": ..., ...fields}. */
const restDetailTypes = createRegistry(ErrorInfoSchema, BadRequestSchema, PreconditionFailureSchema, RetryInfoSchema);

export function restDetails(error: ConnectError): JsonObject[] {
  return error.details.flatMap((d) => {
    const desc = restDetailTypes.getMessage("desc" in d ? d.desc.typeName : d.type);
    if (!desc) return [];
    const message = "desc" in d ? create(desc, d.value) : fromBinary(desc, d.value);
    return [{ "@type": `type.googleapis.com/${desc.typeName}`, ...(toJson(desc, message) as JsonObject) }];
  });
}
