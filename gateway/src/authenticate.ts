import { Code } from "@connectrpc/connect";
import type { FastifyReply, FastifyRequest } from "fastify";
import { bearerToken, KeyCheckBudgetError, KeyCheckBusyError, looksLikeApiKey, type ApiKeyResolver } from "./api-keys.ts";
import { sendRpcError } from "./rpc-errors.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** The tenant of the request's API key, set by `authenticate`. */
    tenantId: string;
  }
}

export interface AuthenticateOptions {
  keys: ApiKeyResolver;
  /** Whether the request's address may have one more key checked by the server (not yet cached keys). */
  mayCheckKey: (request: FastifyRequest) => Promise<boolean>;
  /** The per-key rate limit. */
  allowKey: (apiKey: string) => boolean;
  maxBodyBytes: number;
  /** The HTTP status for a declared body over the limit where no RPC protocol decides it (REST: 413). */
  oversizeHttpStatus?: number;
}

/**
 * A hook that authenticates the API key, applies its rate limit and the body limit, and notes the
 * tenant; it answers the request itself when any of them fails. Cheap checks come first: the
 * declared size, the key's shape and the cache; the server is asked only within the address's budget.
 */
export function authenticator({ keys, mayCheckKey, allowKey, maxBodyBytes, oversizeHttpStatus }: AuthenticateOptions) {
  return async function authenticate(request: FastifyRequest, reply: FastifyReply) {
    if (Number(request.headers["content-length"] ?? 0) > maxBodyBytes) {
      return sendRpcError(request, reply, Code.ResourceExhausted, `request body exceeds ${maxBodyBytes} bytes`, oversizeHttpStatus);
    }
    const token = bearerToken(request.headers.authorization);
    if (!token) return sendRpcError(request, reply, Code.Unauthenticated, "missing API key: send Authorization: Bearer <key>");
    if (!looksLikeApiKey(token)) return sendRpcError(request, reply, Code.Unauthenticated, "malformed API key");
    let tenantId = keys.cached(token);
    if (tenantId === undefined) {
      try {
        tenantId = await keys.check(token, () => mayCheckKey(request));
      } catch (err) {
        if (err instanceof KeyCheckBudgetError) {
          reply.header("retry-after", "60");
          return sendRpcError(request, reply, Code.ResourceExhausted, "too many API key checks from this address; retry later");
        }
        if (!(err instanceof KeyCheckBusyError)) request.log.warn({ err }, "cannot reach the server to check an API key");
        return sendRpcError(request, reply, Code.Unavailable, "authentication unavailable, retry later");
      }
    }
    if (tenantId === null) return sendRpcError(request, reply, Code.Unauthenticated, "unknown or revoked API key");
    if (!allowKey(token)) {
      reply.header("retry-after", "1");
      return sendRpcError(request, reply, Code.ResourceExhausted, "rate limit exceeded for this API key");
    }
    request.tenantId = tenantId;
  };
}
