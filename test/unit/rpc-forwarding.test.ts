// The gateway's forwarding of RPCs (rpc-routes.ts, http2-forwarder.ts, http1-proxy.ts) on real sockets: a stand-in
// server on the platform's dual server, and a gateway of the forwarding alone, observed as main.ts
// observes it, whose key check waits as long as a test says (a real one may ask the server).
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingHttpHeaders } from "node:http";
import * as http2 from "node:http2";
import { connect, type AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { InvoiceService } from "@invoicer/sdk";
import { createDualServer } from "@invoicer/platform/http-server/dual-server";
import { apiKeyHashHeader, internalTokenHeader, tenantHeader } from "@invoicer/platform/internal-auth";
import { createLogger } from "@invoicer/platform/logger";
import { startObservability } from "@invoicer/platform/observability";
import Fastify from "fastify";
import { serverEndpoints } from "@invoicer/platform/server-endpoints";
import { loadGatewayConfig, type GatewayConfig } from "../../gateway/src/config.ts";
import { errorAnswers } from "../../gateway/src/error-answers.ts";
import { exchangeOf } from "../../gateway/src/exchange.ts";
import { requestObservation } from "../../gateway/src/exchange-plugin.ts";
import { observeRequests } from "../../gateway/src/request-observation.ts";
import { procedurePaths, rpcForwarding } from "../../gateway/src/rpc-routes.ts";
import { trustedHeaders } from "../../gateway/src/server-trust.ts";
import { tenantCapacity } from "../../gateway/src/tenant-capacity.ts";

const tenant = "11111111-1111-4111-8111-111111111111";
const internalToken = "unit-test-internal-token-0123456789";
const service = "/invoicer.v1.InvoiceService";
const json = { "content-type": "application/json" };

/**
 * The server's stand-in, over HTTP/2 (gRPC's path) or HTTP/1.1 (reply-from's), noting each call's
 * headers: WatchInvoices answers its headers and stays open (`open` counts such streams), GetInvoice
 * fails after its first bytes, ListInvoices answers `listBytes` (2 by default), the rest answer at
 * once without reading the body (the real server then resets the stream's upload, as this one does).
 */
async function upstream({ reset, resetFirst = Infinity, listBytes = 2 }: { reset?: number; resetFirst?: number; listBytes?: number } = {}) {
  const seen: IncomingHttpHeaders[] = [];
  const sessions = new Set<unknown>();
  let open = 0;
  const closed: (() => void)[] = [];
  const server = createDualServer((req, res) => {
    seen.push({ ":path": req.url, ...req.headers });
    const stream = (res as unknown as http2.Http2ServerResponse).stream as http2.ServerHttp2Stream | undefined;
    sessions.add(stream?.session);
    // HTTP/2: RST_STREAM with this code; HTTP/1.1: the connection drops.
    const fail = (code: number) => (stream ? stream.close(code) : res.destroy());
    // An endpoint that refuses or fails every stream before answering.
    if (reset !== undefined && seen.length <= resetFirst) return void fail(reset);
    res.writeHead(200, json);
    if (req.url === `${service}/WatchInvoices`) {
      open++;
      res.write("{}");
      return void res.once("close", () => (open--, closed.shift()?.()));
    }
    // As when the server dies mid-answer: the stream is reset with an error.
    if (req.url === `${service}/GetInvoice`) return void res.write("{", () => fail(http2.constants.NGHTTP2_INTERNAL_ERROR));
    if (req.url === `${service}/ListInvoices`) return void res.end(`{${" ".repeat(listBytes - 2)}}`);
    res.end("{}");
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  /** Resolves when the next held-open stream closes. */
  const nextClose = () => new Promise<void>((done) => closed.push(done));
  return {
    url,
    seen,
    sessions,
    open: () => open,
    nextClose,
    close: () => {
      server.close();
      server.closeAllConnections();
    },
  };
}

/** A gateway of the forwarding alone, on a real port, every caller authenticated as `tenant` once its key check is let through. */
async function forwardingGateway(serverUrl: string | string[], limits: Partial<GatewayConfig["forwarding"]> = {}) {
  const lines: Record<string, unknown>[] = [];
  const awaited: { path: string; done: (line: Record<string, unknown>) => void }[] = [];
  const log = createLogger("unit", "info", {
    write: (text: string) => {
      const line = JSON.parse(text) as Record<string, unknown>;
      lines.push(line);
      for (const w of awaited.filter((w) => line.msg === "request" && w.path === line.path)) w.done(line);
    },
  });
  const observability = startObservability("gateway", { serviceName: "unit" });
  let keyChecked = Promise.resolve();
  const checking: (() => void)[] = [];
  const app = Fastify({
    loggerInstance: log,
    serverFactory: (handler) => createDualServer(observeRequests(handler, observability, log, new Set(procedurePaths(InvoiceService)))),
    genReqId: (raw) => exchangeOf(raw)?.requestId ?? "none",
  });
  await app.register(requestObservation);
  await app.register(errorAnswers);
  app.decorateRequest("tenantId", "");
  app.decorate("authenticate", async (request) => {
    checking.shift()?.();
    await keyChecked;
    request.tenantId = tenant;
  });
  const endpoints = serverEndpoints([serverUrl].flat(), { refreshMs: 60_000, checkHealth: async () => true });
  app.addHook("onClose", async () => endpoints.close());
  const forwarding = { ...loadGatewayConfig({ INTERNAL_TOKEN: internalToken }).forwarding, maxBodyBytes: 1024 * 1024, ...limits };
  await app.register(rpcForwarding, {
    endpoints,
    capacity: tenantCapacity(forwarding),
    limits: forwarding,
    services: [{ service: InvoiceService, authenticate: true }],
    trustedHeaders: trustedHeaders(internalToken),
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  return {
    app,
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    metrics: observability.metrics,
    /** Key checks wait from now until the function returned is called. */
    holdKeyChecks() {
      let release!: () => void;
      keyChecked = new Promise((r) => (release = r));
      return release;
    },
    /** Resolves when the next key check begins. */
    keyCheckBegins: () => new Promise<void>((begun) => checking.push(begun)),
    /** Resolves once the gateway has written `count` request log lines for `path`. */
    linesFor: (path: string, count: number) =>
      new Promise<void>((done) => {
        const seen = () => lines.filter((l) => l.msg === "request" && l.path === path).length;
        const check = () => (seen() >= count ? done() : awaited.push({ path, done: check }));
        check();
      }),
    /** The request log line of the call to `path`, once the gateway has written it. */
    lineFor: (path: string) =>
      new Promise<Record<string, unknown>>((done) => {
        const line = lines.find((l) => l.msg === "request" && l.path === path);
        if (line) done(line);
        else awaited.push({ path, done });
      }),
  };
}

/** A gRPC call over HTTP/2, its request sent. */
function grpcCall(session: http2.ClientHttp2Session, method: string) {
  const call = session.request({ ":method": "POST", ":path": `${service}/${method}`, "content-type": "application/grpc", te: "trailers" });
  call.on("error", () => undefined); // a cancelled call's error is the point of some tests
  call.end(Buffer.alloc(5));
  return call;
}

describe("forwarding RPCs to the server", () => {
  it("replaces the trust headers a client sends, and keeps gRPC off HTTP/1.1", async () => {
    const server = await upstream();
    const { app } = await forwardingGateway(server.url);
    const forged = {
      authorization: "Bearer inv_x",
      [tenantHeader]: "someone-else",
      [internalTokenHeader]: "forged",
      [apiKeyHashHeader]: "forged",
      ...json,
    };
    const call = await app.inject({ method: "POST", url: `${service}/ListInvoices`, headers: forged, payload: "{}" });
    assert.equal(call.statusCode, 200);
    assert.equal(server.seen.length, 1);
    assert.equal(server.seen[0]![tenantHeader], tenant);
    assert.equal(server.seen[0]![internalTokenHeader], internalToken);
    assert.equal(server.seen[0]!.authorization, undefined);
    assert.equal(server.seen[0]![apiKeyHashHeader], undefined);
    const grpc = await app.inject({ method: "POST", url: `${service}/ListInvoices`, headers: { "content-type": "application/grpc" } });
    assert.equal(grpc.headers["grpc-status"], String(Code.Unimplemented));
    assert.equal(server.seen.length, 1, "gRPC over HTTP/1.1 is not forwarded");
    await app.close();
    server.close();
  });

  it("forwards HTTP/1.1 calls without the connection's own headers, which HTTP/2 forbids, and never a path out of the service", async () => {
    const server = await upstream();
    const { app } = await forwardingGateway(server.url);
    const hopByHop = { connection: "keep-alive, x-hop", "x-hop": "1", "keep-alive": "timeout=5", "proxy-connection": "keep-alive" };
    const headers = { ...hopByHop, te: "gzip, trailers", expect: "100-continue", ...json };
    assert.equal((await app.inject({ method: "POST", url: `${service}/ListInvoices`, headers, payload: "{}" })).statusCode, 200);
    for (const name of [...Object.keys(hopByHop), "expect"].filter((n) => n !== "connection")) {
      assert.equal(server.seen[0]![name], undefined, `${name} is not forwarded`);
    }
    // undici names its own connection's: the caller's is not passed on.
    assert.notEqual(server.seen[0]!.connection, hopByHop.connection);
    assert.equal(server.seen[0]!.te, "trailers", "of TE, what HTTP/2 allows");
    // A GET with a body (Connect GETs have none): HTTP/2 ends a GET at once, so its length is not sent.
    assert.equal((await app.inject({ method: "GET", url: `${service}/ListInvoices`, headers, payload: "{}" })).statusCode, 200);
    for (const url of [
      `${service}/..%2Finvoicer.v1.ApiKeyService%2FAuthenticateApiKey`,
      `${service}/ListInvoices/`,
      `${service}/ListInvoices/x`,
      `${service}/DropAllInvoices`,
    ]) {
      const answer = await app.inject({ method: "POST", url, headers: json, payload: "{}" });
      // As Connect servers answer an unknown procedure: clients read 404 as unimplemented.
      assert.equal(answer.statusCode, 404, url);
      assert.match(answer.body, /^no such method/, url);
    }
    assert.equal(server.seen.length, 2, "no other path reached the server");
    await app.close();
    server.close();
  });

  it("answers Unavailable in the caller's protocol when the server cannot be reached", async () => {
    const gone = await upstream();
    gone.close(); // nothing listens on its port any more
    const { app, url } = await forwardingGateway(gone.url);
    const call = await app.inject({ method: "POST", url: `${service}/ListInvoices`, headers: json, payload: "{}" });
    assert.equal(call.statusCode, 503);
    assert.equal(call.json().code, "unavailable");
    const session = http2.connect(url);
    const [headers] = (await once(grpcCall(session, "ListInvoices"), "response")) as [http2.IncomingHttpHeaders];
    assert.equal(headers["grpc-status"], String(Code.Unavailable), "a trailers-only gRPC answer");
    session.close();
    await app.close();
  });

  it("forwards nothing for a caller that left while its key was checked, and stays up", async () => {
    for (const reachable of [true, false]) {
      const server = await upstream();
      if (!reachable) server.close();
      const gateway = await forwardingGateway(server.url);
      const release = gateway.holdKeyChecks();
      // HTTP/1.1: the caller's socket closes.
      let begun = gateway.keyCheckBegins();
      const socket = connect(Number(new URL(gateway.url).port), "127.0.0.1");
      socket.write(
        `POST ${service}/WatchInvoices HTTP/1.1\r\nhost: gateway\r\ncontent-type: application/connect+json\r\ncontent-length: 0\r\n\r\n`,
      );
      await begun;
      socket.destroy();
      // HTTP/2: the caller cancels its stream.
      begun = gateway.keyCheckBegins();
      const session = http2.connect(gateway.url);
      const call = grpcCall(session, "PayInvoice");
      await begun;
      call.close(http2.constants.NGHTTP2_CANCEL);
      assert.equal((await gateway.lineFor(`${service}/WatchInvoices`)).code, "canceled");
      assert.equal((await gateway.lineFor(`${service}/PayInvoice`)).code, "canceled");
      release();
      // A later call's key check ends after theirs: by its answer, theirs were refused or went on.
      await gateway.app.inject({ method: "POST", url: `${service}/ListInvoices`, headers: json, payload: "{}" });
      if (reachable)
        assert.deepEqual(
          server.seen.map((h) => h[":path"]),
          [`${service}/ListInvoices`],
          "only the later call reached the server",
        );
      session.close();
      await gateway.app.close();
      server.close();
    }
  });

  it("stops the server's work when the caller cancels, and logs the call canceled; a server that fails mid-answer, unavailable", async () => {
    const server = await upstream();
    const gateway = await forwardingGateway(server.url);
    const session = http2.connect(gateway.url);
    const watch = grpcCall(session, "WatchInvoices");
    await once(watch, "response");
    assert.equal(server.open(), 1);
    const closed = server.nextClose();
    watch.close(http2.constants.NGHTTP2_CANCEL);
    await closed;
    const cancelled = await gateway.lineFor(`${service}/WatchInvoices`);
    assert.equal(cancelled.code, "canceled");
    assert.equal(cancelled.aborted, true);
    const failing = await fetch(`${gateway.url}${service}/GetInvoice`, { method: "POST", headers: json, body: "{}" });
    await assert.rejects(failing.text(), "the answer is cut off, not ended as if complete");
    const failed = await gateway.lineFor(`${service}/GetInvoice`);
    assert.equal(failed.code, "unavailable");
    assert.equal(failed.aborted, true);
    session.close();
    await gateway.app.close();
    server.close();
  });

  it("labels metrics with the service's own procedures only: made-up paths all count as one", async () => {
    const server = await upstream();
    const gateway = await forwardingGateway(server.url);
    for (let i = 0; i < 20; i++) await fetch(`${gateway.url}/invoicer.v${i}.Made/Up${i}`, { method: "POST", headers: json, body: "{}" });
    await fetch(`${gateway.url}${service}/ListInvoices`, { method: "POST", headers: json, body: "{}" });
    await gateway.lineFor(`${service}/ListInvoices`);
    const series = (await gateway.metrics.getSingleMetric("rpc_server_duration_seconds")!.get()).values.filter((v) =>
      String((v as { metricName?: string }).metricName).endsWith("_count"),
    );
    assert.deepEqual(series.map((v) => `${v.labels.rpc_service}/${v.labels.rpc_method} ${v.value}`).sort(), [
      "invoicer.v1.InvoiceService/ListInvoices 1",
      "unknown/unknown 20",
    ]);
    await gateway.app.close();
    server.close();
  });

  // The timeout turns the stalled connection into a failure; nothing is timed.
  it(
    "drops the rest of a body the server answered without reading, so the HTTP/1.1 connection serves the next call",
    { timeout: 10_000 },
    async () => {
      const server = await upstream();
      const gateway = await forwardingGateway(server.url);
      const socket = connect(Number(new URL(gateway.url).port), "127.0.0.1");
      let received = "";
      const answers = (count: number) =>
        new Promise<void>((done) => {
          const read = (chunk: Buffer) => {
            received += chunk.toString("latin1");
            if (received.split("HTTP/1.1 200").length > count) done(void socket.off("data", read));
          };
          socket.on("data", read);
        });
      const head = (length: number) =>
        `POST ${service}/CreateInvoice HTTP/1.1\r\nhost: gateway\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n\r\n`;
      const body = Buffer.alloc(200_000, 0x20);
      // The first call's head and a little of its body: the server answers from that.
      socket.write(head(body.length) + body.subarray(0, 1_000).toString("latin1"));
      await answers(1);
      // The rest of that body, then a second call on the same connection.
      socket.write(body.subarray(1_000));
      socket.write(`${head(2)}{}`);
      await answers(2);
      socket.destroy();
      await gateway.app.close();
      server.close();
    },
  );
});

describe("HTTP/1.1 calls through reply-from", () => {
  it("cuts a caller that stops reading its answer, while other calls go on meanwhile", { timeout: 20_000 }, async () => {
    const server = await upstream({ listBytes: 32 * 1024 * 1024 });
    const gateway = await forwardingGateway(server.url, { stalledReaderMs: 500, maxOpenCalls: 4 });
    // Four callers that send a call and never read a byte of its answer: the tenant's every slot.
    const stalled = Array.from({ length: 4 }, () => {
      const socket = connect(Number(new URL(gateway.url).port), "127.0.0.1");
      socket.pause();
      socket.write(
        `POST ${service}/ListInvoices HTTP/1.1\r\nhost: gateway\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}`,
      );
      return socket;
    });
    await gateway.linesFor(`${service}/ListInvoices`, 4);
    assert.equal((await gateway.lineFor(`${service}/ListInvoices`)).code, "resource_exhausted");
    // Their slots and upstream connections were given back: the tenant calls again, all four slots at once.
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => fetch(`${gateway.url}${service}/PayInvoice`, { method: "POST", headers: json, body: "{}" })),
    );
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 200, 200],
    );
    stalled.forEach((socket) => socket.destroy());
    await gateway.app.close();
    server.close();
  });

  it("keeps no timer of a call whose caller left before the server's answer came, and drops the answer", async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    let answer!: () => void;
    const held = new Promise<void>((r) => (answer = r));
    let dropped!: Promise<unknown>;
    // The server begins its answer once the caller has left, and never ends it on its own.
    const server = createServer((_req, res) => {
      dropped = once(res, "close");
      void held.then(() => res.writeHead(200, json).write("{"));
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const gateway = await forwardingGateway(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const before = timers();
    const caller = connect(Number(new URL(gateway.url).port), "127.0.0.1");
    caller.write(`POST ${service}/PayInvoice HTTP/1.1\r\nhost: gateway\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}`);
    await once(server, "request");
    caller.destroy();
    await gateway.lineFor(`${service}/PayInvoice`);
    answer();
    await dropped;
    assert.equal(timers(), before, "every timer of the call is gone once it ended");
    await gateway.app.close();
    server.close();
  });
});

describe("balancing forwarded calls over the server's endpoints", () => {
  /**
   * `count` Connect calls of `method` through the gateway, `concurrency` at a time; their HTTP statuses.
   * Over HTTP/1.1 reply-from carries them, over HTTP/2 the forwarder (its sessions to the server).
   */
  async function calls(gatewayUrl: string, method: string, count: number, { concurrency = 1, http = 1 } = {}) {
    const statuses: number[] = [];
    const session = http === 2 ? http2.connect(gatewayUrl) : undefined;
    const next = async (): Promise<void> => {
      if (statuses.length >= count) return;
      statuses.push(0);
      const status = session ? await http2Call(session, method) : await http1Call(gatewayUrl, method);
      statuses[statuses.indexOf(0)] = status;
      return next();
    };
    await Promise.all(Array.from({ length: concurrency }, next));
    session?.close();
    return statuses;
  }

  async function http1Call(gatewayUrl: string, method: string) {
    const answer = await fetch(`${gatewayUrl}${service}/${method}`, { method: "POST", headers: json, body: "{}" });
    await answer.arrayBuffer();
    return answer.status;
  }

  async function http2Call(session: http2.ClientHttp2Session, method: string, body = "{}") {
    const call = session.request({ ":method": "POST", ":path": `${service}/${method}`, ...json });
    call.end(body);
    const [headers] = (await once(call, "response")) as [http2.IncomingHttpHeaders];
    call.resume();
    await once(call, "close");
    return Number(headers[":status"]);
  }

  it("spreads calls per call, not per connection: each of three endpoints within 25 % of an even share", async () => {
    const servers = await Promise.all([upstream(), upstream(), upstream()]);
    const { app, url } = await forwardingGateway(servers.map((s) => s.url));
    const statuses = await calls(url, "ListInvoices", 300, { concurrency: 8 });
    assert.deepEqual(new Set(statuses), new Set([200]));
    for (const s of servers) assert.ok(Math.abs(s.seen.length - 100) <= 25, `shares: ${servers.map((x) => x.seen.length)}`);
    await app.close();
    servers.forEach((s) => s.close());
  });

  it("takes out an endpoint it cannot reach and sends the call, even one not safe to repeat, to another", async () => {
    for (const http of [1, 2]) {
      const [up, down] = await Promise.all([upstream(), upstream()]);
      down.close();
      const { app, url } = await forwardingGateway([up.url, down.url]);
      assert.deepEqual(await calls(url, "PayInvoice", 20, { http }), Array<number>(20).fill(200), `HTTP/${http}`);
      assert.equal(up.seen.length, 20);
      await app.close();
      up.close();
    }
  });

  it("sends a refused stream (REFUSED_STREAM) to another endpoint, whatever its method, and replaces the refusing session", async () => {
    const [good, refusing] = await Promise.all([upstream(), upstream({ reset: http2.constants.NGHTTP2_REFUSED_STREAM })]);
    const { app, url } = await forwardingGateway([good.url, refusing.url], { perEndpoint: 1 });
    assert.deepEqual(await calls(url, "PayInvoice", 10, { http: 2 }), Array<number>(10).fill(200));
    assert.equal(good.seen.length, 10);
    assert.equal(refusing.sessions.size, refusing.seen.length, "a new session after each refusal");
    await app.close();
    [good, refusing].forEach((s) => s.close());
  });

  it("does not repeat a call with side effects that the server reset with ENHANCE_YOUR_CALM: it may have run", async () => {
    const calm = await upstream({ reset: http2.constants.NGHTTP2_ENHANCE_YOUR_CALM });
    const { app, url } = await forwardingGateway(calm.url);
    assert.deepEqual(await calls(url, "PayInvoice", 1, { http: 2 }), [503]);
    assert.equal(calm.seen.length, 1);
    await app.close();
    calm.close();
  });

  it("resends a refused call's body only while it is held within the tenant's bound, and tries the only endpoint again", async () => {
    const once = await upstream({ reset: http2.constants.NGHTTP2_REFUSED_STREAM, resetFirst: 1 });
    const { app, url } = await forwardingGateway(once.url, { maxWaitingBytes: 1_000 });
    const pay = async (gatewayUrl: string, body: string) => {
      const session = http2.connect(gatewayUrl);
      const status = await http2Call(session, "PayInvoice", body);
      session.close();
      return status;
    };
    assert.equal(await pay(url, `{"id":"${"x".repeat(100)}"}`), 200, "kept, sent again on a fresh session");
    assert.equal(once.seen.length, 2);
    const lone = await upstream({ reset: http2.constants.NGHTTP2_REFUSED_STREAM, resetFirst: 1 });
    const second = await forwardingGateway(lone.url, { maxWaitingBytes: 1_000 });
    const big = await pay(second.url, `{"id":"${"x".repeat(5_000)}"}`);
    assert.equal(big, 503, "a body past the tenant's bound is not kept, so not sent again");
    assert.equal(lone.seen.length, 1);
    await Promise.all([app.close(), second.app.close()]);
    [once, lone].forEach((s) => s.close());
  });

  it("gives a call it sends again what is left of its deadline, not all of it", async () => {
    const refusing = await upstream({ reset: http2.constants.NGHTTP2_REFUSED_STREAM, resetFirst: 1 });
    const { app, url } = await forwardingGateway(refusing.url, { maxCallMs: 5_000 });
    // Over HTTP/2: the forwarder's path, whose sessions a refused stream may be sent again on.
    const session = http2.connect(url);
    const call = session.request({ ":method": "POST", ":path": `${service}/PayInvoice`, ...json, "connect-timeout-ms": "3000" });
    call.end("{}");
    const [answer] = (await once(call, "response")) as [http2.IncomingHttpHeaders];
    assert.equal(answer[":status"], 200);
    session.destroy();
    const [first, second] = refusing.seen.map((h) => Number(h["connect-timeout-ms"]));
    assert.equal(first, 3_000, "the caller's own deadline, under the cap, goes as it came");
    assert.ok(second! < 3_000, `the second try's deadline: ${second}`);
    await app.close();
    refusing.close();
  });

  it("refuses a call whose headers pass 16 KiB before any session to the server sees it", async () => {
    const server = await upstream();
    const { app, url } = await forwardingGateway(server.url);
    const session = http2.connect(url);
    const call = session.request({ ":method": "POST", ":path": `${service}/ListInvoices`, ...json, "x-filler": "a".repeat(17_000) });
    call.end("{}");
    const [headers] = (await once(call, "response")) as [http2.IncomingHttpHeaders];
    assert.equal(headers[":status"], 429);
    assert.equal(server.seen.length, 0);
    session.destroy();
    await app.close();
    server.close();
  });

  it("sends a call that failed on the server again only when it is safe to repeat", async () => {
    const [first, second] = await Promise.all([upstream({ reset: http2.constants.NGHTTP2_INTERNAL_ERROR }), upstream()]);
    const { app, url } = await forwardingGateway(first.url);
    assert.deepEqual(await calls(url, "PayInvoice", 1, { http: 2 }), [503]);
    assert.equal(first.seen.length, 1, "PayInvoice is not repeated");
    // reply-from streams the body to the server unkept: a call that reached the server never goes again.
    assert.deepEqual(await calls(url, "PayInvoice", 1, { http: 1 }), [503]);
    assert.equal(first.seen.length, 2, "PayInvoice over HTTP/1.1 is not repeated");
    await app.close();
    const both = await forwardingGateway([first.url, second.url]);
    const http = 2;
    assert.deepEqual(await calls(both.url, "ListInvoices", 10, { http }), Array<number>(10).fill(200), "ListInvoices has no side effects");
    assert.deepEqual(
      await calls(both.url, "CreateInvoice", 10, { http }),
      Array<number>(10).fill(200),
      "CreateInvoice has an idempotency key",
    );
    await both.app.close();
    [first, second].forEach((s) => s.close());
  });

  it("replaces a session before its stream ids run out (case 8), and every call still goes through", async () => {
    const server = await upstream();
    const { app, url } = await forwardingGateway(server.url, { perEndpoint: 1, maxStreamsPerSession: 3 });
    assert.deepEqual(await calls(url, "ListInvoices", 10, { http: 2 }), Array<number>(10).fill(200));
    assert.ok(server.sessions.size >= 4, `sessions: ${server.sessions.size}`);
    await app.close();
    server.close();
  });
});
