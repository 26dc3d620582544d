// What an attacker without an API key can send the gateway: connections that say nothing or say it
// slowly, compression bombs, oversize bodies and headers. Each reports what happened to it, so the
// fault suite can check the gateway bounded it (and stayed up for everyone else).
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { createGzip } from "node:zlib";

export type Outcomes = Record<string, number>;

const count = (outcomes: Outcomes, what: string) => void (outcomes[what] = (outcomes[what] ?? 0) + 1);

/** gzip of `bytes` zero bytes, made a MiB at a time (256 MiB is a few hundred KB). */
export async function gzipOfZeros(bytes: number): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gzip.on("data", (c: Buffer) => out.push(c));
  const done = new Promise((resolve) => gzip.on("end", resolve));
  const mib = Buffer.alloc(1024 * 1024);
  for (let left = bytes; left > 0; left -= mib.length) {
    if (!gzip.write(left >= mib.length ? mib : mib.subarray(0, left))) await new Promise((r) => gzip.once("drain", r));
  }
  gzip.end();
  await done;
  return Buffer.concat(out);
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

/**
 * Opens `n` connections from `localAddress` that send nothing (or, with `slowHeaders`, the start of a
 * request and then nothing), and resolves with how many the gateway closed and how long that took.
 */
export async function silentConnections(port: number, localAddress: string, n: number, slowHeaders: boolean, giveUpMs: number) {
  const opened = performance.now();
  const closedAfter: number[] = [];
  let refusedAtOnce = 0;
  await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<void>((resolve) => {
          const socket = net.connect({ port, host: "127.0.0.1", localAddress });
          const giveUp = setTimeout(() => socket.destroy(), giveUpMs);
          let connected = false;
          socket.on("connect", () => {
            connected = true;
            if (slowHeaders) socket.write("POST /v1/invoices HTTP/1.1\r\nHost: gateway\r\nX-Slow: ");
          });
          socket.on("error", () => {});
          socket.resume(); // read whatever the gateway answers, so its close is seen
          socket.on("close", () => {
            clearTimeout(giveUp);
            if (!connected) refusedAtOnce++;
            else closedAfter.push(performance.now() - opened);
            resolve();
          });
        }),
    ),
  );
  const byGateway = closedAfter.filter((ms) => ms < giveUpMs - 50);
  return { opened: n, closedByGateway: byGateway.length + refusedAtOnce, slowestCloseMs: Math.round(Math.max(0, ...byGateway)) };
}

/** Opens `n` HTTP/2 sessions from `localAddress` that never start a stream; resolves with how many the gateway closed. */
export async function idleHttp2Sessions(url: string, localAddress: string, n: number, giveUpMs: number) {
  let closed = 0;
  await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<void>((resolve) => {
          const session = http2.connect(url, { localAddress } as http2.SecureClientSessionOptions);
          const giveUp = setTimeout(() => session.destroy(), giveUpMs);
          session.on("error", () => {});
          session.on("goaway", () => void 0);
          session.on("close", () => {
            clearTimeout(giveUp);
            closed++;
            resolve();
          });
        }),
    ),
  );
  return { opened: n, closed };
}

/** One HTTP/2 request; resolves with its grpc-status (or "reset"/"error"). */
function http2Call(url: string, localAddress: string, path: string, headers: http2.OutgoingHttpHeaders, body: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const session = http2.connect(url, { localAddress } as http2.SecureClientSessionOptions);
    session.on("error", () => resolve("session error"));
    const stream = session.request({ ":method": "POST", ":path": path, ...headers });
    let status: string | undefined;
    let reset = false;
    stream.on("response", (h) => (status ??= h["grpc-status"] as string | undefined));
    stream.on("trailers", (t) => (status ??= t["grpc-status"] as string | undefined));
    stream.on("error", () => (reset = true));
    stream.on("data", () => {});
    stream.on("close", () => {
      session.close();
      resolve(status !== undefined ? `grpc-status ${status}` : reset ? "stream reset" : "no status");
    });
    stream.end(body);
  });
}

/** One HTTP/1.1 request; resolves with its status (grpc-status for gRPC-web), or "closed" when the connection was cut. */
function http1Call(
  url: string,
  localAddress: string,
  path: string,
  headers: http.OutgoingHttpHeaders,
  body: Buffer | (() => AsyncIterable<Buffer>),
): Promise<string> {
  return new Promise((resolve) => {
    const req = http.request(`${url}${path}`, { method: "POST", headers, localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const trailer = /grpc-status: ?(\d+)/.exec(Buffer.concat(chunks).toString("latin1"))?.[1] ?? res.headers["grpc-status"];
        resolve(trailer !== undefined ? `grpc-status ${String(trailer)}` : `HTTP ${res.statusCode}`);
      });
      res.on("error", () => resolve("closed"));
    });
    req.on("error", () => resolve("closed"));
    if (Buffer.isBuffer(body)) req.end(body);
    else
      void (async () => {
        for await (const chunk of body()) if (!req.write(chunk)) await new Promise((r) => req.once("drain", r));
        req.end();
      })().catch(() => undefined);
  });
}

/**
 * Sends every kind of oversized or compressed request a client without a key can send, `times`
 * each, from `localAddress`, several at once; returns how each kind was answered.
 */
export async function oversizeAndBombs(url: string, localAddress: string, times: number): Promise<Record<string, Outcomes>> {
  const bomb = await gzipOfZeros(256 * 1024 * 1024);
  const envelope = Buffer.concat([Buffer.from([1]), u32(bomb.length), bomb]); // flagged compressed
  const reflection = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
  const fiftyMiB = async function* () {
    const mib = Buffer.alloc(1024 * 1024, 0x20);
    for (let i = 0; i < 50; i++) yield mib;
  };
  const kinds: Record<string, () => Promise<string>> = {
    "reflection, gRPC, 256 MiB gzip bomb": () =>
      http2Call(url, localAddress, reflection, { "content-type": "application/grpc", "grpc-encoding": "gzip", te: "trailers" }, envelope),
    "reflection, gRPC-web over HTTP/1.1, 256 MiB gzip bomb": () =>
      http1Call(
        url,
        localAddress,
        reflection,
        { "content-type": "application/grpc-web+proto", "grpc-encoding": "gzip", "x-grpc-web": "1" },
        envelope,
      ),
    "CreateInvoice, gRPC, gzip bomb, no key": () =>
      http2Call(
        url,
        localAddress,
        "/invoicer.v1.InvoiceService/CreateInvoice",
        { "content-type": "application/grpc", "grpc-encoding": "gzip", te: "trailers" },
        envelope,
      ),
    "REST create, 50 MiB chunked, no key": () =>
      http1Call(url, localAddress, "/v1/invoices", { "content-type": "application/json", "transfer-encoding": "chunked" }, fiftyMiB),
    "HTTP/1.1, a 1 MiB header": () => http1Call(url, localAddress, "/healthz", { "x-big": "a".repeat(1024 * 1024) }, Buffer.alloc(0)),
    "HTTP/2, a 1 MiB header": () =>
      http2Call(url, localAddress, reflection, { "content-type": "application/grpc", "x-big": "a".repeat(1024 * 1024) }, Buffer.alloc(0)),
  };
  const results: Record<string, Outcomes> = {};
  for (const [kind, send] of Object.entries(kinds)) {
    const outcomes: Outcomes = {};
    // Several at once, as an attacker would send them.
    for (let sent = 0; sent < times; sent += 5) {
      await Promise.all(Array.from({ length: Math.min(5, times - sent) }, () => send().then((o) => count(outcomes, o))));
    }
    results[kind] = outcomes;
  }
  return results;
}
