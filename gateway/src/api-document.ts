import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";

/** The committed OpenAPI document of the REST routes. */
export const apiDocumentFile = fileURLToPath(new URL("../openapi.yaml", import.meta.url));

/** Held in memory for the process's life, so a file that grew past this is refused at start. */
const maxDocumentBytes = 256 * 1024;

export interface ApiDocumentOptions {
  /** The YAML file to serve; the committed document by default. */
  file?: string;
}

/**
 * GET /openapi.yaml without an API key: the REST routes' OpenAPI document, read once at start and
 * answered from memory with an ETag, so a revalidating client gets a 304 and no body.
 */
export async function apiDocument(app: FastifyInstance, { file = apiDocumentFile }: ApiDocumentOptions) {
  const document = await readFile(file).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot read the OpenAPI document ${file}: ${err.code ?? err.message}`);
  });
  if (document.length > maxDocumentBytes) {
    throw new Error(`the OpenAPI document ${file} is ${document.length} bytes; at most ${maxDocumentBytes} are served`);
  }
  const etag = `"${createHash("sha256").update(document).digest("base64url").slice(0, 22)}"`;
  app.get("/openapi.yaml", async (request, reply) => {
    reply.header("etag", etag).header("cache-control", "public, max-age=300").header("x-content-type-options", "nosniff");
    if (matches(request.headers["if-none-match"], etag)) return reply.code(304).send();
    return reply.type("application/yaml").send(document);
  });
}

/** If-None-Match names this ETag (alone, in a list, or weak). */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  return (ifNoneMatch ?? "").split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag || tag.trim() === "*");
}
