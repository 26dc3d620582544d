import { Code, type Client } from "@connectrpc/connect";
import type { ApiKeyService } from "@invoicer/sdk/invoicer/v1/internal_service_pb";
import { hashApiKey } from "@invoicer/platform/api-key-format";
import { ErrorReason, retryInfo } from "@invoicer/platform/error-details";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { apiKeyResolver, bearerToken, KeyCheckBudgetError, KeyCheckBusyError, looksLikeApiKey, type ApiKeyResolver } from "./key-checks.ts";
import { keyRateLimit, type KeyAllowance } from "./key-rate-limit.ts";
import { sendRpcError } from "./rpc-errors.ts";

/** A hook that answers the request itself unless its API key is good, noting the tenant when it is. */
export type AuthenticateHook = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;

declare module "fastify" {
  interface FastifyRequest {
    /** The tenant of the request's API key, set by `authenticate`; empty before (and without) a key. */
    tenantId: string;
    /** The stored hash of the request's API key, set with `tenantId`: the server ends the key's streams when it is revoked. */
    apiKeyHash: string;
  }
  interface FastifyInstance {
    /** The API-key check for RPCs: an oversize body is answered in the RPC's protocol. */
    authenticate: AuthenticateHook;
    /** The same check for REST, where an oversize body is a 413. */
    authenticateRest: AuthenticateHook;
  }
}

export interface ApiKeyAuthenticationOptions {
  keyService: Client<typeof ApiKeyService>;
  apiKeyCacheMs: number;
  /** Keys the server checks for one address per minute (keys not yet cached). */
  keyChecksPerAddress: number;
  /** The per-key limit across the fleet: leased from the server's bucket (key-rate-limit.ts). */
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  rateLimitLeaseMs: number;
  rateLimitLeaseTtlMs: number;
  maxBodyBytes: number;
}

/**
 * `app.authenticate` and `app.authenticateRest`, sharing one key cache, one key-check budget per
 * address and one rate limit per key (one bucket for every gateway, leased through the server).
 * Unencapsulated: the REST routes and the proxies use them.
 */
export const apiKeyAuthentication = fp(
  async function apiKeyAuthentication(app: FastifyInstance, options: ApiKeyAuthenticationOptions) {
    const keyChecks = app.createRateLimit({ max: options.keyChecksPerAddress, timeWindow: 60_000 });
    const shared: AuthenticateOptions = {
      keys: apiKeyResolver(options.keyService, options.apiKeyCacheMs),
      mayCheckKey: async (request) => {
        const budget = await keyChecks(request);
        return budget.isAllowed || !budget.isExceeded;
      },
      allowKey: keyRateLimit(options.keyService, {
        perSecond: options.rateLimitPerSecond,
        burst: options.rateLimitBurst,
        leaseMs: options.rateLimitLeaseMs,
        leaseTtlMs: options.rateLimitLeaseTtlMs,
      }),
      maxBodyBytes: options.maxBodyBytes,
    };
    app.decorateRequest("tenantId", "");
    app.decorateRequest("apiKeyHash", "");
    app.decorate("authenticate", authenticator(shared));
    app.decorate("authenticateRest", authenticator({ ...shared, oversizeHttpStatus: 413 }));
  },
  { name: "api-key-authentication", dependencies: ["address-limits"] },
);

interface AuthenticateOptions {
  keys: ApiKeyResolver;
  /** Whether the request's address may have one more key checked by the server (not yet cached keys). */
  mayCheckKey: (request: FastifyRequest) => Promise<boolean>;
  /** The per-key rate limit: whether the call may go ahead, and if not why. */
  allowKey: (apiKey: string) => Promise<KeyAllowance>;
  maxBodyBytes: number;
  /** The HTTP status for a declared body over the limit where no RPC protocol decides it (REST: 413). */
  oversizeHttpStatus?: number;
}

/**
 * A hook that authenticates the API key, applies its rate limit and the body limit, and notes the
 * tenant; it answers the request itself when any of them fails. Cheap checks come first: the
 * declared size, the key's shape and the cache; the server is asked only within the address's budget.
 */
function authenticator({ keys, mayCheckKey, allowKey, maxBodyBytes, oversizeHttpStatus }: AuthenticateOptions): AuthenticateHook {
  return async function authenticate(request: FastifyRequest, reply: FastifyReply) {
    if (Number(request.headers["content-length"] ?? 0) > maxBodyBytes) {
      return sendRpcError(request, reply, Code.ResourceExhausted, `request body exceeds ${maxBodyBytes} bytes`, {
        httpStatus: oversizeHttpStatus,
        reason: ErrorReason.REQUEST_TOO_LARGE,
        metadata: { maxBodyBytes: String(maxBodyBytes) },
      });
    }
    const token = bearerToken(request.headers.authorization);
    if (!token) {
      return sendRpcError(request, reply, Code.Unauthenticated, "missing API key: send Authorization: Bearer <key>", {
        reason: ErrorReason.API_KEY_MISSING,
      });
    }
    if (!looksLikeApiKey(token)) return sendRpcError(request, reply, Code.Unauthenticated, "malformed API key");
    let tenantId = keys.cached(token);
    if (tenantId === undefined) {
      try {
        tenantId = await keys.check(token, () => mayCheckKey(request));
      } catch (err) {
        if (err instanceof KeyCheckBudgetError) {
          reply.header("retry-after", "60");
          return sendRpcError(request, reply, Code.ResourceExhausted, "too many API key checks from this address; retry later", {
            reason: ErrorReason.KEY_CHECKS_EXHAUSTED,
            details: [retryInfo(60_000)],
          });
        }
        if (!(err instanceof KeyCheckBusyError)) request.log.warn({ err }, "cannot reach the server to check an API key");
        return sendRpcError(request, reply, Code.Unavailable, "authentication unavailable, retry later", {
          reason: ErrorReason.AUTHENTICATION_UNAVAILABLE,
        });
      }
    }
    if (tenantId === null) return sendRpcError(request, reply, Code.Unauthenticated, "unknown or revoked API key");
    const allowance = await allowKey(token);
    if (allowance.kind !== "allowed") {
      if (allowance.kind === "revoked") keys.revoked(token);
      return refuse(request, reply, allowance);
    }
    request.tenantId = tenantId;
    request.apiKeyHash = hashApiKey(token);
  };
}

/** The answer to a call the per-key limit refused: over the limit, revoked since cached, or no lease to be had. */
function refuse(request: FastifyRequest, reply: FastifyReply, allowance: Exclude<KeyAllowance, { kind: "allowed" }>) {
  switch (allowance.kind) {
    case "limited":
      reply.header("retry-after", String(Math.ceil(allowance.waitMs / 1000)));
      return sendRpcError(request, reply, Code.ResourceExhausted, "rate limit exceeded for this API key", {
        reason: ErrorReason.RATE_LIMITED,
        details: [retryInfo(allowance.waitMs)],
      });
    case "revoked":
      return sendRpcError(request, reply, Code.Unauthenticated, "unknown or revoked API key");
    case "unavailable":
      request.log.warn({ err: allowance.err }, "cannot reach the server to lease rate-limit tokens");
      return sendRpcError(request, reply, Code.Unavailable, "authentication unavailable, retry later", {
        reason: ErrorReason.AUTHENTICATION_UNAVAILABLE,
      });
  }
}
