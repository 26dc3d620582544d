// The wire side of the hostile-input suite: sends requests byte for byte (node:http for HTTP/1.1,
// node:http2 for gRPC, @grpc/grpc-js for a real gRPC client) and reads back the code a client of
// that protocol would see. Nothing here is clever on purpose: the requests are malformed, so no
// ordinary client library could send them.
import * as http from "node:http";
import * as http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { Code } from "@connectrpc/connect";
import { codeFromHttpStatus as connectCodeFromHttp, codeToString } from "@connectrpc/connect/protocol-connect";
import { codeFromHttpStatus as grpcCodeFromHttp } from "@connectrpc/connect/protocol-grpc";

/** How a request travels; `rest` cases are judged by HTTP status, the others by their RPC code. */
export type Transport = "connect-json" | "connect-binary" | "grpc-web" | "grpc" | "rest";

/** One HTTP exchange, exactly as written. */
export interface WireRequest {
  kind: "wire";
  /** HTTP/2 with prior knowledge (gRPC); HTTP/1.1 otherwise. */
  http2?: boolean;
  method?: string;
  path: string;
  /** Sent as given; no header is added except Host and, unless `chunked`, Content-Length. */
  headers: Record<string, string>;
  /** One buffer, or several written one after another. */
  body?: Uint8Array | Uint8Array[];
  /** HTTP/1.1: no Content-Length, Transfer-Encoding: chunked. HTTP/2 never declares a length unless a header says so. */
  chunked?: boolean;
}

/** A call made by @grpc/grpc-js loading the .proto files, as another team's service would. */
export interface GrpcJsCall {
  kind: "grpc-js";
  method: string;
  request: object;
  metadata: Record<string, string>;
}

export type HostileRequest = WireRequest | GrpcJsCall;

/** What came back, reduced to what the suite judges. */
export interface Outcome {
  /** HTTP status (200 for gRPC-family answers, whatever their grpc-status). */
  status: number;
  /** The code a client of the transport would report: "ok", a Connect code string ("not_found"), or "http <status>" on REST. */
  code: string;
  message: string;
  /** Every header, trailer and body byte as text: what must not leak SQL, stacks or paths. */
  text: string;
  /** Connect unary: the code came in a JSON error body (not derived from the HTTP status). */
  connectErrorBody?: boolean;
}

/** A small seeded PRNG (mulberry32): the same seed gives the same "random" corpus every run. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (max: number) => Math.floor(next() * max),
    bytes(n: number) {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = Math.floor(next() * 256);
      return out;
    },
  };
}

/** A gRPC / gRPC-web / Connect-streaming envelope: flags, big-endian length, data. */
export function envelope(data: Uint8Array, flags = 0, declaredLength = data.length): Uint8Array {
  const out = Buffer.alloc(5 + data.length);
  out[0] = flags;
  out.writeUInt32BE(declaredLength >>> 0, 1);
  out.set(data, 5);
  return out;
}

export async function send(baseUrl: string, transport: Transport, request: HostileRequest): Promise<Outcome> {
  if (request.kind === "grpc-js") return sendGrpcJs(baseUrl, request);
  const raw = request.http2 ? await exchangeHttp2(baseUrl, request) : await exchangeHttp1(baseUrl, request);
  return judge(transport, request, raw);
}

interface RawExchange {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  trailers: Record<string, string>;
  /** HTTP/2 only: the stream was reset with this code instead of ending normally. */
  rstCode?: number;
}

const chunksOf = (body: WireRequest["body"]): Uint8Array[] => (body === undefined ? [] : Array.isArray(body) ? body : [body]);

function flatHeaders(headers: http.IncomingHttpHeaders | http2.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  return out;
}

function exchangeHttp1(baseUrl: string, request: WireRequest): Promise<RawExchange> {
  const chunks = chunksOf(request.body);
  const length = chunks.reduce((n, c) => n + c.length, 0);
  const headers: Record<string, string> = { ...request.headers };
  if (!request.chunked && chunks.length > 0 && !Object.keys(headers).some((h) => h.toLowerCase() === "content-length")) {
    headers["content-length"] = String(length);
  }
  return new Promise((resolve, reject) => {
    // A fresh connection per case (agent: false), so one hostile request cannot poison the next.
    const req = http.request(`${baseUrl}${request.path}`, { method: request.method ?? "POST", headers, agent: false });
    let answered = false;
    req.on("response", (res) => {
      answered = true;
      const body: Buffer[] = [];
      res.on("data", (c: Buffer) => body.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: flatHeaders(res.headers),
          body: Buffer.concat(body),
          trailers: flatHeaders(res.trailers),
        }),
      );
      res.on("error", reject);
    });
    // The gateway may answer an oversized upload before reading it and close: the write then fails, the answer stands.
    req.on("error", (err) => {
      if (!answered) reject(err);
    });
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

function exchangeHttp2(baseUrl: string, request: WireRequest): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(baseUrl);
    session.on("error", reject);
    const stream = session.request({ ":method": request.method ?? "POST", ":path": request.path, ...request.headers });
    let status = 0;
    let headers: Record<string, string> = {};
    let trailers: Record<string, string> = {};
    const body: Buffer[] = [];
    stream.on("response", (h) => {
      status = Number(h[":status"]);
      headers = flatHeaders(h);
    });
    stream.on("trailers", (t) => (trailers = flatHeaders(t)));
    stream.on("data", (c: Buffer) => body.push(c));
    // A reset stream is an answer too (the suite fails on it): keep what came.
    stream.on("error", () => {});
    let done = false;
    const finish = (rstCode?: number) => {
      if (done) return;
      done = true;
      session.destroy();
      resolve({ status, headers, body: Buffer.concat(body), trailers, rstCode });
    };
    // The server's side ended (its trailers came): the call is over, as for any gRPC client,
    // even when the server stopped reading an upload it refused.
    stream.on("end", () => finish());
    stream.on("close", () => finish(stream.rstCode && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR ? stream.rstCode : undefined));
    stream.resume();
    const chunks = chunksOf(request.body);
    const write = (i: number): void => {
      if (i === chunks.length) return void stream.end();
      // Respect flow control: a large upload waits for the window to open, or for the answer.
      if (stream.write(chunks[i]!)) write(i + 1);
      else stream.once("drain", () => write(i + 1));
    };
    write(0);
  });
}

/** The grpc-status / grpc-message of a gRPC-web body's trailer frame (flag 0x80), if there is one. */
function grpcWebTrailerFrame(body: Buffer): Record<string, string> | undefined {
  let at = 0;
  while (at + 5 <= body.length) {
    const flags = body[at]!;
    const length = body.readUInt32BE(at + 1);
    const data = body.subarray(at + 5, at + 5 + length);
    if (flags & 0x80) {
      const out: Record<string, string> = {};
      for (const line of data.toString("latin1").split(/\r?\n/)) {
        const colon = line.indexOf(":");
        if (colon > 0) out[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      return out;
    }
    at += 5 + length;
  }
  return undefined;
}

/** The end-stream frame (flag 0x02) of a Connect streaming body: its error code, or "ok". */
function connectEndStream(body: Buffer): { code: string; message: string } | undefined {
  let at = 0;
  while (at + 5 <= body.length) {
    const flags = body[at]!;
    const length = body.readUInt32BE(at + 1);
    if (flags & 0x02) {
      try {
        const end = JSON.parse(body.subarray(at + 5, at + 5 + length).toString("utf8")) as { error?: { code?: string; message?: string } };
        return end.error ? { code: end.error.code ?? "unknown", message: end.error.message ?? "" } : { code: "ok", message: "" };
      } catch {
        return { code: "unknown", message: "unparseable end-stream frame" };
      }
    }
    at += 5 + length;
  }
  return undefined;
}

const grpcCodeName = (status: string | undefined) => {
  const n = Number(status);
  if (status === "0") return "ok";
  if (status === undefined || !/^\d+$/.test(status) || Code[n] === undefined) return `unknown (grpc-status ${status ?? "missing"})`;
  return codeToString(n as Code);
};

const decodeGrpcMessage = (m: string | undefined) => {
  try {
    return decodeURIComponent(m ?? "");
  } catch {
    return m ?? "";
  }
};

/** The code a client of the transport would see, the way connect-es and grpc-js derive it. */
function judge(transport: Transport, request: WireRequest, raw: RawExchange): Outcome {
  const text = [
    ...Object.entries(raw.headers).map(([k, v]) => `${k}: ${v}`),
    raw.body.toString("utf8"),
    ...Object.entries(raw.trailers).map(([k, v]) => `${k}: ${v}`),
  ].join("\n");
  const base = { status: raw.status, text };
  if (raw.rstCode !== undefined) return { ...base, code: `stream reset (${raw.rstCode})`, message: "" };
  const requestType = Object.entries(request.headers).find(([k]) => k.toLowerCase() === "content-type")?.[1] ?? "";

  if (transport === "rest") {
    let message = "";
    try {
      message = String((JSON.parse(raw.body.toString("utf8")) as { message?: string }).message ?? "");
    } catch {
      // Not JSON (a document, or nothing): the status alone is judged.
    }
    return { ...base, code: `http ${raw.status}`, message };
  }

  if (transport === "grpc" || transport === "grpc-web") {
    if (raw.status !== 200) return { ...base, code: codeToString(grpcCodeFromHttp(raw.status)), message: `HTTP ${raw.status}` };
    const trailer =
      raw.headers["grpc-status"] !== undefined ? raw.headers : transport === "grpc-web" ? grpcWebTrailerFrame(raw.body) : raw.trailers;
    return { ...base, code: grpcCodeName(trailer?.["grpc-status"]), message: decodeGrpcMessage(trailer?.["grpc-message"]) };
  }

  // Connect. Streaming calls (application/connect+...) end with an end-stream frame on HTTP 200.
  if (/^application\/connect\+/i.test(requestType)) {
    if (raw.status !== 200) return { ...base, code: codeToString(connectCodeFromHttp(raw.status)), message: `HTTP ${raw.status}` };
    const end = connectEndStream(raw.body);
    return { ...base, code: end?.code ?? "unknown (no end-stream frame)", message: end?.message ?? "" };
  }
  if (raw.status === 200) return { ...base, code: "ok", message: "" };
  try {
    const error = JSON.parse(raw.body.toString("utf8")) as { code?: unknown; message?: unknown };
    if (typeof error.code === "string") return { ...base, code: error.code, message: String(error.message ?? ""), connectErrorBody: true };
  } catch {
    // No Connect error body: a client falls back to the HTTP status.
  }
  return { ...base, code: codeToString(connectCodeFromHttp(raw.status)), message: `HTTP ${raw.status} without a Connect error body` };
}

let grpcJsService: grpc.ServiceClientConstructor | undefined;

function sendGrpcJs(baseUrl: string, call: GrpcJsCall): Promise<Outcome> {
  grpcJsService ??= (
    grpc.loadPackageDefinition(
      protoLoader.loadSync("invoicer/v1/invoice_service.proto", {
        includeDirs: ["proto", "third_party"],
        keepCase: true,
        longs: String,
        enums: String,
        defaults: true,
      }),
    ) as unknown as { invoicer: { v1: { InvoiceService: grpc.ServiceClientConstructor } } }
  ).invoicer.v1.InvoiceService;
  const client = new grpcJsService(baseUrl.replace(/^http:\/\//, ""), grpc.credentials.createInsecure()) as unknown as Record<
    string,
    (req: object, md: grpc.Metadata, done: (err: grpc.ServiceError | null, res: unknown) => void) => void
  > &
    grpc.Client;
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(call.metadata)) metadata.set(k, v);
  return new Promise((resolve) => {
    client[call.method]!(call.request, metadata, (err, res) => {
      client.close();
      if (!err) return resolve({ status: 200, code: "ok", message: "", text: JSON.stringify(res) });
      const code = Code[err.code] === undefined ? `unknown (grpc status ${err.code})` : codeToString(err.code as number as Code);
      resolve({ status: 200, code, message: err.details, text: `${err.details}\n${JSON.stringify(err.metadata.toJSON())}` });
    });
  });
}
