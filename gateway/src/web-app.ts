import { existsSync } from "node:fs";
import { join } from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";

// connect-src is open because the page may be pointed at another gateway; scripts and styles are our own files only.
const contentSecurityPolicy =
  "default-src 'self'; connect-src 'self' http: https:; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/**
 * The built browser client at `/`, with no API key. Only files that exist get a route (no
 * wildcard), so /v1/*, /invoicer.*, /grpc.*, /healthz and /readyz are never shadowed.
 */
export async function webApp(app: FastifyInstance, { webDir }: { webDir: string }) {
  if (!existsSync(join(webDir, "index.html"))) {
    app.log.warn({ webDir }, "no web app to serve: build it with `npm run build -w web` or set WEB_DIR");
    return;
  }
  await app.register(fastifyStatic, {
    root: webDir,
    wildcard: false,
    cacheControl: false,
    setHeaders: (response, path) => {
      // Vite names assets by content hash, so they never change; index.html must be revalidated.
      response.setHeader("cache-control", path.includes("/assets/") ? "public, max-age=31536000, immutable" : "no-cache");
      response.setHeader("x-content-type-options", "nosniff");
      response.setHeader("referrer-policy", "no-referrer");
      if (path.endsWith(".html")) response.setHeader("content-security-policy", contentSecurityPolicy);
    },
  });
}
