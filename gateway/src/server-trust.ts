import type { Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { http2SessionManager } from "@invoicer/platform/http2-sessions";
import { apiKeyHashHeader, internalTokenHeader, tenantHeader } from "@invoicer/platform/internal-auth";
import type { FastifyRequest } from "fastify";
import { upstreamHeaders } from "./exchange.ts";

/** How long the gateway waits for its own calls to the server (key checks, leases) before answering Unavailable. */
export const serverCallTimeoutMs = 5_000;

/** The gateway's own calls to the server (API-key checks, readiness, REST), with the internal token. */
export function serverTransport(serverUrl: string, internalToken: string) {
  const withInternalToken: Interceptor = (next) => (req) => {
    req.header.set(internalTokenHeader, internalToken);
    return next(req);
  };
  return createConnectTransport({
    baseUrl: serverUrl,
    httpVersion: "2",
    sessionManager: http2SessionManager(serverUrl),
    useBinaryFormat: true,
    interceptors: [withInternalToken],
  });
}

/**
 * Client-supplied trust headers never reach the server; ours replace them, with the trace and request id.
 * The key's hash is optional in the type only so the forwarder's options still accept this function.
 */
export function trustedHeaders(internalToken: string) {
  return (
    request: Pick<FastifyRequest, "exchange" | "tenantId"> & Partial<Pick<FastifyRequest, "apiKeyHash">>,
  ): Record<string, string> => ({
    ...upstreamHeaders(request.exchange),
    ...(request.tenantId ? { [tenantHeader]: request.tenantId } : {}),
    ...(request.apiKeyHash ? { [apiKeyHashHeader]: request.apiKeyHash } : {}),
    [internalTokenHeader]: internalToken,
  });
}
