// The committed OpenAPI document as a checker of real requests and answers: JSON Json 2020-12
// (OpenAPI 3.1's dialect) with Ajv, and the gateway's registered routes read from Fastify.
import { readFileSync } from "node:fs";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import type { FastifyInstance } from "fastify";
import { parse } from "yaml";
import { apiDocumentFile } from "../../gateway/src/api-document.ts";

type Json = Record<string, unknown>;

interface Parameter {
  name: string;
  in: "path" | "query" | "header";
  required?: boolean;
  schema: Json;
}

interface Operation {
  parameters?: (Parameter | { $ref: string })[];
  requestBody?: { required?: boolean; content: Record<string, { schema: Json }> };
  responses: Record<string, Response | { $ref: string }>;
  security?: Record<string, string[]>[];
}

interface Response {
  content?: Record<string, { schema: Json }>;
}

export interface ApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  security?: Record<string, string[]>[];
  components: { schemas: Record<string, Json>; [section: string]: Record<string, unknown> };
}

/** A request as sent: the path template's parameters, the query, the headers and the JSON body (if any). */
export interface SentRequest {
  params?: Record<string, string>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: unknown;
}

/** An answer as received: its status, content type and body (parsed when JSON). */
export interface ReceivedResponse {
  status: number;
  contentType: string | null;
  body: unknown;
}

const schemasId = "urn:invoicer:openapi";
export const operationMethods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

export function loadApiDocument(file = apiDocumentFile): ApiDocument {
  return parse(readFileSync(file, "utf8")) as ApiDocument;
}

/** Every documented operation as "METHOD /path/{param}". */
export function documentedRoutes(document: ApiDocument): string[] {
  return Object.entries(document.paths)
    .flatMap(([path, item]) => operationMethods.filter((m) => m in item).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
}

/**
 * The routes a Fastify app has registered, as "METHOD /path/{param}", from its route tree
 * (printRoutes: one line per path segment, each child indented four characters under its parent).
 */
export function registeredRoutes(app: Pick<FastifyInstance, "printRoutes">): string[] {
  const routes: string[] = [];
  const prefixes: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split("\n")) {
    const match = /^([│ ]*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    prefixes.length = depth;
    const path = (prefixes[depth - 1] ?? "") + match[2]!;
    prefixes.push(path);
    for (const method of match[3]?.split(", ") ?? []) routes.push(`${method} ${path.replace(/:(\w+)/g, "{$1}")}`);
  }
  return routes.sort();
}

/** Checks requests and answers against the document; each check returns what does not fit (empty when all does). */
export function apiChecker(document: ApiDocument) {
  // Schema references point into one schema of all components, under $defs as Ajv resolves them.
  const rewritten = JSON.parse(JSON.stringify(document).replaceAll('"#/components/schemas/', `"${schemasId}#/$defs/`)) as ApiDocument;
  const ajvFor = (coerceTypes: boolean) => {
    // A $ref with sibling limits (maxLength, required) is what 2020-12 allows; Ajv's strict mode would not.
    const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, strictRequired: false, coerceTypes });
    addFormats.default(ajv);
    ajv.addSchema({ $id: schemasId, $defs: rewritten.components.schemas });
    return ajv;
  };
  const bodies = ajvFor(false);
  // Parameters arrive as text: "20" is an integer parameter.
  const parameters = ajvFor(true);
  const compiled = new Map<Ajv2020, WeakMap<Json, ValidateFunction>>();
  const check = (ajv: Ajv2020, schema: Json, value: unknown, where: string): string[] => {
    const cache = compiled.get(ajv) ?? compiled.set(ajv, new WeakMap()).get(ajv)!;
    // Coercion rewrites a value in its parent, so every value is validated inside a holder.
    let validate = cache.get(schema);
    if (!validate) cache.set(schema, (validate = ajv.compile({ type: "object", properties: { value: schema } })));
    if (validate({ value })) return [];
    return (validate.errors ?? []).map(
      (e) => `${where}${e.instancePath.replace(/^\/value/, "")} ${e.message}${e.keyword === "enum" ? "" : ` ${JSON.stringify(e.params)}`}`,
    );
  };
  const resolve = <T>(item: T | { $ref: string }): T => {
    if (item && typeof item === "object" && "$ref" in item) {
      const [section, name] = item.$ref.replace("#/components/", "").split("/") as [string, string];
      return rewritten.components[section]![name] as T;
    }
    return item;
  };
  const operation = (method: string, path: string): Operation => {
    const found = rewritten.paths[path]?.[method.toLowerCase()];
    if (!found) throw new Error(`${method} ${path} is not in the document`);
    return found;
  };

  return {
    /** What of a request does not fit the operation: parameters, API key, body and its content type. */
    request(method: string, path: string, sent: SentRequest): string[] {
      const op = operation(method, path);
      const problems: string[] = [];
      const declared = (op.parameters ?? []).map((p) => resolve(p));
      const given: Record<Parameter["in"], Record<string, string>> = {
        path: sent.params ?? {},
        query: sent.query ?? {},
        header: Object.fromEntries(Object.entries(sent.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
      };
      for (const p of declared) {
        const value = given[p.in][p.in === "header" ? p.name.toLowerCase() : p.name];
        if (value === undefined) {
          if (p.required) problems.push(`${p.in} parameter ${p.name} is missing`);
          continue;
        }
        problems.push(...check(parameters, p.schema, value, `${p.in} parameter ${p.name}`));
      }
      for (const name of Object.keys(given.query)) {
        if (!declared.some((p) => p.in === "query" && p.name === name)) problems.push(`query parameter ${name} is not documented`);
      }
      const security = op.security ?? rewritten.security ?? [];
      if (security.length > 0 && !/^Bearer \S+$/.test(given.header.authorization ?? "")) problems.push("no bearer API key");
      problems.push(...checkBody(op, given.header["content-type"], sent.body));
      return problems;
    },

    /** What of an answer does not fit the operation: an undocumented status, content type or body. */
    response(method: string, path: string, received: ReceivedResponse): string[] {
      const documented = operation(method, path).responses[String(received.status)] ?? operation(method, path).responses.default;
      if (!documented) return [`status ${received.status} is not documented`];
      const { content } = resolve(documented);
      if (!content) return received.body === undefined || received.body === "" ? [] : [`status ${received.status} has no documented body`];
      const mediaType = received.contentType?.split(";")[0]!.trim() ?? "";
      const media = content[mediaType];
      if (!media) return [`content type ${received.contentType} is not documented for status ${received.status}`];
      if (!mediaType.endsWith("json")) return [];
      return check(bodies, media.schema, received.body, `response ${received.status} body`);
    },
  };

  function checkBody(op: Operation, contentType: string | undefined, body: unknown): string[] {
    if (!op.requestBody) return body === undefined ? [] : ["the operation takes no body"];
    if (body === undefined) return op.requestBody.required ? ["the body is missing"] : [];
    const media = op.requestBody.content[contentType?.split(";")[0]!.trim() ?? ""];
    if (!media) return [`content type ${contentType} is not documented for the body`];
    return check(bodies, media.schema, body, "request body");
  }
}
