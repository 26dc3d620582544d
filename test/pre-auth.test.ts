// What bounds a request before it is authenticated: bytes after decompression, requests and key
// checks per address, connections per address, the time a connection may stay silent, streams per
// connection. Each bound is tested with something just over it (issue 13, items 1, 5 and 6).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as http2 from "node:http2";
import * as net from "node:net";
import { after, before, describe, it } from "node:test";
import { createGzip } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { ServerReflectionRequestSchema } from "@invoicer/sdk/grpc/reflection/v1/reflection_pb";
import { loadGatewayConfig } from "../gateway/src/config.ts";
import { envelope, send } from "./support/hostile-wire.ts";
import { eventually } from "./support/events.ts";
import { parseMetrics } from "./support/metrics.ts";
import { startStack, type Stack } from "./support/stack.ts";

const reflectionPath = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
const listServices = toBinary(
  ServerReflectionRequestSchema,
  create(ServerReflectionRequestSchema, { messageRequest: { case: "listServices", value: "" } }),
);

/** gzip of `bytes` zero bytes, made a MiB at a time (a 256 MiB bomb is a few hundred KB). */
async function gzipOfZeros(bytes: number): Promise<Buffer> {
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

const grpcReflection = (body: Uint8Array, encoding?: string) => ({
  kind: "wire" as const,
  http2: true,
  path: reflectionPath,
  headers: { "content-type": "application/grpc", te: "trailers", ...(encoding ? { "grpc-encoding": encoding } : {}) },
  body,
});

/** Calls the server made of one RPC method so far, read from its own metrics. */
async function serverCalls(stack: Stack, service: string, method: string): Promise<number> {
  const text = await stack.observability.server.metrics.metrics();
  return parseMetrics(text).value("rpc_server_duration_seconds_count", { rpc_service: service, rpc_method: method });
}

/** Resolves when the socket or session closes; fails after `ms` so a regression fails instead of hanging. */
function closedWithin(emitter: net.Socket | http2.ClientHttp2Session, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} was still open after ${ms} ms`)), ms);
    emitter.once("close", () => (clearTimeout(timer), resolve()));
    emitter.on("error", () => {});
    // A paused socket never sees the end of what the server wrote, so never closes: read it.
    if (emitter instanceof net.Socket) emitter.resume();
  });
}

const randomKey = () => `inv_${randomBytes(24).toString("base64url")}`;

let stack: Stack;
before(async () => {
  stack = await startStack({
    rateLimitPerAddress: 100_000,
    keyChecksPerAddress: 10,
    connections: { headersTimeoutMs: 300, idleTimeoutMs: 600, maxConnectionsPerAddress: 200, maxStreamsPerConnection: 100 },
  });
});
after(() => stack.close());

describe("reflection before authentication", () => {
  it("refuses a compressed message that inflates past its limit, without inflating it", async () => {
    const bomb = await gzipOfZeros(256 * 1024 * 1024);
    const rssBefore = process.memoryUsage().rss;
    const outcome = await send(stack.gatewayUrl, "grpc", grpcReflection(envelope(bomb, 1), "gzip"));
    const grownMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    assert.equal(outcome.code, "resource_exhausted", outcome.message);
    assert.ok(grownMiB < 64, `the process grew by ${grownMiB.toFixed(0)} MiB for a ${bomb.length}-byte request`);
  });

  it("takes a message just under 64 KiB after decompression and refuses one just over", async () => {
    // A question about a symbol with a long name, as many bytes as wanted.
    const request = (size: number) => {
      const ask = (name: string) =>
        toBinary(
          ServerReflectionRequestSchema,
          create(ServerReflectionRequestSchema, { messageRequest: { case: "fileContainingSymbol", value: name } }),
        );
      let length = size - 8;
      while (ask("x".repeat(length)).length < size) length++;
      return Buffer.from(ask("x".repeat(length)));
    };
    const gzipped = async (bytes: Buffer) => {
      const gzip = createGzip();
      const out: Buffer[] = [];
      gzip.on("data", (c: Buffer) => out.push(c));
      const done = new Promise((r) => gzip.on("end", r));
      gzip.end(bytes);
      await done;
      return Buffer.concat(out);
    };
    const under = await send(stack.gatewayUrl, "grpc", grpcReflection(envelope(await gzipped(request(64 * 1024 - 16)), 1), "gzip"));
    assert.equal(under.code, "ok", under.message);
    const over = await send(stack.gatewayUrl, "grpc", grpcReflection(envelope(await gzipped(request(64 * 1024 + 16)), 1), "gzip"));
    assert.equal(over.code, "resource_exhausted", over.message);
  });

  it("still answers reflection", async () => {
    const outcome = await send(stack.gatewayUrl, "grpc", grpcReflection(envelope(listServices)));
    assert.equal(outcome.code, "ok");
    assert.match(outcome.text, /invoicer\.v1\.InvoiceService/);
  });
});

describe("API keys before the server is asked", () => {
  it("never asks the server about a token that is not shaped like an API key", async () => {
    const before = await serverCalls(stack, "invoicer.v1.ApiKeyService", "AuthenticateApiKey");
    for (const token of ["garbage", "inv_short", `inv_${"!".repeat(32)}`, `x${randomKey()}`]) {
      const res = await fetch(`${stack.gatewayUrl}/v1/invoices`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 401);
    }
    assert.equal(await serverCalls(stack, "invoicer.v1.ApiKeyService", "AuthenticateApiKey"), before);
  });

  it("asks the server once about one unknown key sent many times at once", async () => {
    const key = randomKey();
    const before = await serverCalls(stack, "invoicer.v1.ApiKeyService", "AuthenticateApiKey");
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => fetch(`${stack.gatewayUrl}/v1/invoices`, { headers: { authorization: `Bearer ${key}` } })),
    );
    assert.deepEqual(new Set(answers.map((r) => r.status)), new Set([401]));
    assert.equal(await serverCalls(stack, "invoicer.v1.ApiKeyService", "AuthenticateApiKey"), before + 1);
  });

  it("asks the server about at most KEY_CHECKS_PER_ADDRESS new keys a minute from one address", async () => {
    const limited = await startStack({ keyChecksPerAddress: 10, rateLimitPerAddress: 100_000 });
    try {
      await limited.client(limited.tenantA).listInvoices({}); // one check, and the answer is cached
      const statuses: number[] = [];
      for (let i = 0; i < 29; i++) {
        const res = await fetch(`${limited.gatewayUrl}/v1/invoices`, { headers: { authorization: `Bearer ${randomKey()}` } });
        statuses.push(res.status);
      }
      assert.deepEqual(statuses.slice(0, 9), Array(9).fill(401));
      assert.deepEqual(statuses.slice(9), Array(20).fill(429));
      assert.equal(await serverCalls(limited, "invoicer.v1.ApiKeyService", "AuthenticateApiKey"), 10);
      // A key the gateway already knows is still served.
      assert.equal((await limited.client(limited.tenantA).listInvoices({})).invoices.length, 0);
    } finally {
      await limited.close();
    }
  });

  it("does not read a REST body before the key is checked", async () => {
    const res = await fetch(`${stack.gatewayUrl}/v1/invoices`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    assert.equal(res.status, 401);
  });
});

describe("requests per address", () => {
  it("limits every path from one address, with or without a key", async () => {
    const limited = await startStack({ rateLimitPerAddress: 5 });
    try {
      const statuses = [];
      for (let i = 0; i < 6; i++) statuses.push((await fetch(`${limited.gatewayUrl}/healthz`)).status);
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429]);
      const reflection = await send(limited.gatewayUrl, "grpc", grpcReflection(envelope(listServices)));
      assert.equal(reflection.code, "resource_exhausted");
      const preflight = await fetch(`${limited.gatewayUrl}${reflectionPath}`, {
        method: "OPTIONS",
        headers: { origin: "http://allowed.example", "access-control-request-method": "POST" },
      });
      assert.equal(preflight.status, 429);
    } finally {
      await limited.close();
    }
  });

  it("answers /readyz from its periodic health checks of the servers, not with a check per call", async () => {
    const before = await serverCalls(stack, "grpc.health.v1.Health", "Check");
    const statuses = await Promise.all(Array.from({ length: 30 }, () => fetch(`${stack.gatewayUrl}/readyz`).then((r) => r.status)));
    assert.deepEqual(new Set(statuses), new Set([200]));
    assert.ok((await serverCalls(stack, "grpc.health.v1.Health", "Check")) - before <= 2);
  });
});

describe("connections", () => {
  it("closes a connection that never sends a byte", async () => {
    const { hostname, port } = new URL(stack.gatewayUrl);
    const socket = net.connect(Number(port), hostname);
    await closedWithin(socket, 5_000, "a silent connection");
  });

  it("closes an HTTP/1.1 connection whose headers never finish", async () => {
    const { hostname, port } = new URL(stack.gatewayUrl);
    const socket = net.connect(Number(port), hostname, () => socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "));
    await closedWithin(socket, 5_000, "a connection with unfinished headers");
  });

  it("closes an HTTP/2 connection that stays idle", async () => {
    const session = http2.connect(stack.gatewayUrl);
    await closedWithin(session, 5_000, "an idle HTTP/2 connection");
  });

  it("announces at most MAX_STREAMS_PER_CONNECTION streams on an HTTP/2 connection", async () => {
    const session = http2.connect(stack.gatewayUrl);
    try {
      const settings = await new Promise<http2.Settings>((resolve) => session.once("remoteSettings", resolve));
      assert.equal(settings.maxConcurrentStreams, 100);
    } finally {
      session.destroy();
    }
  });

  it("admits at most MAX_CONNECTIONS_PER_ADDRESS connections from one address", async () => {
    const limited = await startStack({
      connections: { headersTimeoutMs: 10_000, idleTimeoutMs: 0, maxConnectionsPerAddress: 3, maxStreamsPerConnection: 100 },
    });
    const { hostname, port } = new URL(limited.gatewayUrl);
    const open = (): Promise<net.Socket> =>
      new Promise((resolve) => {
        const socket = net.connect(Number(port), hostname, () => resolve(socket));
        socket.on("error", () => {});
      });
    const held = [await open(), await open(), await open()];
    try {
      const fourth = await open();
      await closedWithin(fourth, 5_000, "a fourth connection");
      assert.ok(held.every((s) => !s.destroyed && s.readyState === "open"));
      // Once one closes, another is admitted and served.
      held.pop()!.destroy();
      await eventually(
        async () => (await fetch(`${limited.gatewayUrl}/healthz`).catch(() => undefined))?.status === 200,
        "a connection to be admitted again",
      );
    } finally {
      for (const s of held) s.destroy();
      await limited.close();
    }
  });

  it("behind a trusted proxy, limits each client the proxy names, and not the proxy's own connections", async () => {
    // The test's sockets all come from 127.0.0.1: here that is the ingress, trusted as TRUST_PROXY=loopback.
    const { connections, trustProxy } = loadGatewayConfig({
      INTERNAL_TOKEN: stack.internalToken,
      TRUST_PROXY: "loopback",
      MAX_CONNECTIONS_PER_ADDRESS: "3",
    });
    const proxied = await startStack({ connections, trustProxy, rateLimitPerAddress: 5, keyChecksPerAddress: 2 });
    const { hostname, port } = new URL(proxied.gatewayUrl);
    const held = await Promise.all(
      [1, 2, 3].map(
        () =>
          new Promise<net.Socket>((resolve) => {
            const socket = net.connect(Number(port), hostname, () => resolve(socket));
            socket.on("error", () => {});
          }),
      ),
    );
    const statusFor = async (client: string) =>
      (await fetch(`${proxied.gatewayUrl}/healthz`, { headers: { "x-forwarded-for": client } })).status;
    try {
      // A fourth connection from the proxy is served: it carries other clients' requests.
      assert.equal(await statusFor("203.0.113.1"), 200);
      for (let i = 0; i < 4; i++) assert.equal(await statusFor("203.0.113.1"), 200);
      assert.equal(await statusFor("203.0.113.1"), 429, "the sixth request of one client is over its limit");
      assert.equal(await statusFor("198.51.100.2"), 200, "another client behind the same proxy is not limited");
      const keyCheckFor = async (client: string) =>
        (
          await fetch(`${proxied.gatewayUrl}/v1/invoices`, {
            headers: { "x-forwarded-for": client, authorization: `Bearer ${randomKey()}` },
          })
        ).status;
      assert.deepEqual(
        [await keyCheckFor("203.0.113.3"), await keyCheckFor("203.0.113.3"), await keyCheckFor("203.0.113.3")],
        [401, 401, 429],
      );
      assert.equal(await keyCheckFor("198.51.100.4"), 401, "another client's keys are still checked");
      assert.ok(
        held.every((s) => !s.destroyed),
        "the proxy's connections stay open",
      );
    } finally {
      for (const s of held) s.destroy();
      await proxied.close();
    }
  });
});
