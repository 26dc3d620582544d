import { Code, ConnectError, createContextKey, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import { InvoiceService } from "@invoicer/sdk";
import { internalTokenHeader, isInternalToken, tenantHeader } from "@invoicer/platform/internal-auth";
import { uuidPattern } from "../shared/ids.ts";

/** The tenant the gateway authenticated for this request. */
export const tenantKey = createContextKey<string | undefined>(undefined, { description: "tenant id" });

const openServices = new Set(["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]);

/**
 * Only the gateway and the consumer hold the internal token. The tenant header is believed
 * only alongside it, so a client cannot pick its tenant by sending the header itself.
 */
export function trustedCallers(internalToken: string): Interceptor {
  return (next) => async (req) => {
    if (openServices.has(req.service.typeName)) return next(req);
    if (!isInternalToken(req.header.get(internalTokenHeader), internalToken)) {
      throw new ConnectError("missing or invalid internal token", Code.Unauthenticated);
    }
    if (req.service.typeName === InvoiceService.typeName) {
      const tenant = req.header.get(tenantHeader);
      if (!tenant || !uuidPattern.test(tenant)) throw new ConnectError("missing tenant", Code.Unauthenticated);
      req.contextValues.set(tenantKey, tenant);
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
