// How a call's RPC outcome (its code) is learnt: noted from what the server or the gateway sent, or
// read off the HTTP response when nobody noted one.
import type { IncomingMessage, ServerResponse } from "node:http";
import { Code } from "@connectrpc/connect";
import { codeFromHttpStatus } from "@connectrpc/connect/protocol-connect";
import { codeName, rpcCodeHeader } from "@invoicer/platform/metrics";
import type { Exchange } from "./exchange.ts";

/** The gRPC status of a trailers-only response, or the code the server named in `invoicer-rpc-code` (a Connect error's body is not read). */
export function noteResponseCode(exchange: Exchange | undefined, headers: Record<string, unknown>): void {
  noteGrpcStatus(exchange, headers["grpc-status"]);
  const code = headers[rpcCodeHeader];
  if (exchange && exchange.code === undefined && typeof code === "string") exchange.code = codeFromName(code);
}

/** Records the RPC outcome from a grpc-status value (headers of a trailers-only response, or trailers). */
export function noteGrpcStatus(exchange: Exchange | undefined, value: unknown): void {
  if (!exchange || value === undefined || value === null) return;
  const status = Number(value);
  exchange.code = status === 0 ? "ok" : (status as Code);
}

function codeFromName(name: string): Code | "ok" {
  const code = Object.values(Code).find((c) => typeof c === "number" && codeName(c) === name);
  return typeof code === "number" ? code : Code.Unknown;
}

/** The outcome when nobody noted one: from the HTTP status (a 200 gRPC-web or Connect stream counts as ok). */
export function rpcCodeFromStatus(req: IncomingMessage, res: ServerResponse): Code | "ok" {
  if (res.statusCode === 200) return "ok";
  return /^application\/grpc/.test(req.headers["content-type"] ?? "") ? Code.Unknown : codeFromHttpStatus(res.statusCode);
}
