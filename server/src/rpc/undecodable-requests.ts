import type { UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";

// connect-es decodes protobuf binary before any interceptor runs and reports a body it cannot
// decode as Internal ("parse binary: ..."). That is the caller's mistake, so this module rewrites
// exactly that error to InvalidArgument in each protocol's own framing.
const parsePrefix = "parse binary:";
const connectEndStreamFlag = 0b10;
const grpcWebTrailerFlag = 0x80;

/** The handler, answering InvalidArgument instead of Internal when the request is not valid protobuf. */
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
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  const error = JSON.parse(bytes.toString("utf8")) as { code?: string; message?: string };
  if (!isParseError(error)) return { ...res, body: once(bytes) };
  const invalid = Buffer.from(JSON.stringify({ ...error, code: "invalid_argument" }));
  const header = new Headers(res.header);
  header.set("content-length", String(invalid.length));
  return { ...res, status: 400, header, body: once(invalid) };
}

/** Connect streaming ends with a JSON end-stream frame, gRPC-web with a trailer frame, gRPC with HTTP trailers. */
async function* rewriteFrames(body: AsyncIterable<Uint8Array>, trailer: Headers | undefined) {
  for await (const chunk of body) yield rewriteEndFrame(chunk);
  const message = trailer?.get("grpc-message");
  if (trailer?.get("grpc-status") === "13" && message && decodeURIComponent(message).startsWith(parsePrefix)) {
    trailer.set("grpc-status", "3");
  }
}

function rewriteEndFrame(chunk: Uint8Array): Uint8Array {
  if (chunk.length < 5 || (chunk[0] !== connectEndStreamFlag && chunk[0] !== grpcWebTrailerFlag)) return chunk;
  const text = Buffer.from(chunk.subarray(5)).toString("utf8");
  let rewritten = text;
  if (chunk[0] === connectEndStreamFlag) {
    const end = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (end.error && isParseError(end.error)) rewritten = JSON.stringify({ ...end, error: { ...end.error, code: "invalid_argument" } });
  } else if (/^grpc-status: ?13\r?$/m.test(text) && /^grpc-message: ?parse%20binary/im.test(text)) {
    rewritten = text.replace(/^grpc-status: ?13/m, "grpc-status: 3");
  }
  return rewritten === text ? chunk : frame(chunk[0]!, Buffer.from(rewritten));
}

const isParseError = (e: { code?: string; message?: string }) => e.code === "internal" && !!e.message?.startsWith(parsePrefix);

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
