import type { UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";

// connect-es decodes requests before any interceptor runs and reports two kinds of bad request as
// Internal: a body it cannot decode ("parse binary: ...") and a message flagged compressed when
// the caller negotiated no compression. Both are the caller's mistake, so this module rewrites
// exactly those errors to InvalidArgument in each protocol's own framing.
const undecodableMessages = ["parse binary:", "received compressed envelope, but do not know how to decompress"];
const connectEndStreamFlag = 0b10;
const grpcWebTrailerFlag = 0x80;

/** The handler, answering InvalidArgument instead of Internal when the request is undecodable. */
export function reportUndecodableAsInvalid(handler: UniversalHandler): UniversalHandler {
  return Object.assign(async (req: Parameters<UniversalHandler>[0]) => rewrite(await handler(req)), handler);
}

async function rewrite(res: UniversalServerResponse): Promise<UniversalServerResponse> {
  if (!res.body) return res;
  if (res.status === 500 && res.header?.get("content-type")?.startsWith("application/json")) {
    return rewriteConnectUnary(res, res.body);
  }
  return { ...res, body: rewriteFrames(res.body, res.trailer) };
}

async function rewriteConnectUnary(res: UniversalServerResponse, body: AsyncIterable<Uint8Array>) {
  // A compressed error body is a long one (connect-es compresses from 1 KiB): never an undecodable-request error.
  if (res.header?.has("content-encoding")) return { ...res, body };
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  const error = parseJson(bytes);
  if (!error || !isUndecodableError(error)) return { ...res, body: once(bytes) };
  const invalid = Buffer.from(JSON.stringify({ ...error, code: "invalid_argument" }));
  const header = new Headers(res.header);
  header.set("content-length", String(invalid.length));
  return { ...res, status: 400, header, body: once(invalid) };
}

/** Connect streaming ends with a JSON end-stream frame, gRPC-web with a trailer frame, gRPC with HTTP trailers. */
async function* rewriteFrames(body: AsyncIterable<Uint8Array>, trailer: Headers | undefined) {
  for await (const chunk of body) yield rewriteEndFrame(chunk);
  if (trailer?.get("grpc-status") === "13" && isUndecodable(percentDecoded(trailer.get("grpc-message") ?? ""))) {
    trailer.set("grpc-status", "3");
  }
}

function rewriteEndFrame(chunk: Uint8Array): Uint8Array {
  if (chunk.length < 5 || (chunk[0] !== connectEndStreamFlag && chunk[0] !== grpcWebTrailerFlag)) return chunk;
  const text = Buffer.from(chunk.subarray(5)).toString("utf8");
  let rewritten = text;
  if (chunk[0] === connectEndStreamFlag) {
    const end = parseJson(Buffer.from(text)) as { error?: { code?: string; message?: string } } | undefined;
    if (end?.error && isUndecodableError(end.error))
      rewritten = JSON.stringify({ ...end, error: { ...end.error, code: "invalid_argument" } });
  } else if (/^grpc-status: ?13\r?$/m.test(text) && isUndecodable(percentDecoded(/^grpc-message: ?(.*?)\r?$/im.exec(text)?.[1] ?? ""))) {
    rewritten = text.replace(/^grpc-status: ?13/m, "grpc-status: 3");
  }
  return rewritten === text ? chunk : frame(chunk[0]!, Buffer.from(rewritten));
}

/** grpc-message as text; a malformed escape is left as it is. */
function percentDecoded(message: string): string {
  try {
    return decodeURIComponent(message);
  } catch {
    return message;
  }
}

/** The error JSON, or undefined when the body is not JSON: then it is passed on as it is. */
function parseJson(bytes: Buffer): { code?: string; message?: string } | undefined {
  try {
    return JSON.parse(bytes.toString("utf8")) as { code?: string; message?: string };
  } catch {
    return undefined;
  }
}

const isUndecodable = (message: string) => undecodableMessages.some((prefix) => message.startsWith(prefix));
const isUndecodableError = (e: { code?: string; message?: string }) => e.code === "internal" && isUndecodable(e.message ?? "");

function frame(flags: number, data: Uint8Array): Uint8Array {
  const out = Buffer.alloc(5 + data.length);
  out[0] = flags;
  out.writeUInt32BE(data.length, 1);
  out.set(data, 5);
  return out;
}

async function* once(bytes: Uint8Array) {
  yield bytes;
}
