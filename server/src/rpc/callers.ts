import { Code, ConnectError, createContextKey, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import { InvoiceService } from "@invoicer/sdk";
import { InvoiceDocumentService } from "@invoicer/sdk/invoicer/v1/internal_service_pb";
import { apiKeyHashHeader, internalTokenHeader, isInternalToken, tenantHeader } from "@invoicer/platform/internal-auth";
import { uuidPattern } from "../shared/ids.ts";

/** The tenant the gateway authenticated for this request. */
export const tenantKey = createContextKey<string | undefined>(undefined, { description: "tenant id" });
/** The hash of the API key the gateway authenticated for this request, when it says. */
const apiKeyHashKey = createContextKey<string | undefined>(undefined, { description: "api key hash" });

const openServices = new Set(["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]);

/** What the consumer's token may call: the consumer only hands rendered documents back. */
const consumerProcedures = new Set([`${InvoiceDocumentService.typeName}/${InvoiceDocumentService.method.attachDocuments.name}`]);

/** The server's callers' credentials: the gateway's may call every RPC, the consumer's only `consumerProcedures`. */
export interface CallerTokens {
  internalToken: string;
  consumerToken?: string;
}

/**
 * Only the gateway holds the internal token; the consumer, which parses tenants' text while rendering,
 * holds a token of its own that cannot act as a tenant. The tenant header is believed only alongside
 * the internal token, so a client cannot pick its tenant by sending the header itself.
 */
export function trustedCallers({ internalToken, consumerToken }: CallerTokens): Interceptor {
  return (next) => async (req) => {
    if (openServices.has(req.service.typeName)) return next(req);
    const presented = req.header.get(internalTokenHeader);
    if (consumerToken && isInternalToken(presented, consumerToken)) {
      if (consumerProcedures.has(`${req.service.typeName}/${req.method.name}`)) return next(req);
      throw new ConnectError(`the consumer's token may not call ${req.method.name}`, Code.PermissionDenied);
    }
    if (!isInternalToken(presented, internalToken)) {
      throw new ConnectError("missing or invalid internal token", Code.Unauthenticated);
    }
    if (req.service.typeName === InvoiceService.typeName) {
      const tenant = req.header.get(tenantHeader);
      if (!tenant || !uuidPattern.test(tenant)) throw new ConnectError("missing tenant", Code.Unauthenticated);
      req.contextValues.set(tenantKey, tenant);
      const keyHash = req.header.get(apiKeyHashHeader);
      if (keyHash && /^[0-9a-f]{64}$/.test(keyHash)) req.contextValues.set(apiKeyHashKey, keyHash);
    }
    return next(req);
  };
}

/** The authenticated tenant of a public-service call. */
export function tenantOf(ctx: HandlerContext): string {
  const tenant = ctx.values.get(tenantKey);
  if (!tenant) throw new ConnectError("missing tenant", Code.Unauthenticated);
  return tenant;
}

/** The hash of the caller's API key: absent when the caller did not say (the consumer, an older gateway). */
export const apiKeyHashOf = (ctx: HandlerContext): string | undefined => ctx.values.get(apiKeyHashKey);
