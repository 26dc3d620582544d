// The server plumbing's answer to a request message over the size limit while the client is still
// sending it: the answer arrives, and the connection or stream is then free, on both HTTP versions.
// Found by the Connect conformance suite ("Server Message Size"); before the fix the HTTP/2 client
// waited for ever and the HTTP/1.1 connection's next request was never read.
import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError, createConnectRouter } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import { connectRoutes } from "@invoicer/platform/connect-routes";
import { closeGracefully } from "@invoicer/platform/http-server/graceful-close";
import { createDualServer } from "@invoicer/platform/http-server/dual-server";
import { createLogger } from "@invoicer/platform/logger";
import { Health, HealthCheckResponse_ServingStatus } from "@invoicer/sdk/grpc/health/v1/health_pb";

const limit = 1024;
const path = "/grpc.health.v1.Health/Check";
let server: http.Server;
/** The server's side of every connection, to see that each is freed. */
const sockets = new Set<Socket>();
let origin: string;

before(async () => {
  // As createRpcRouter: gzip and br accepted and used for answers.
  const router = createConnectRouter({ readMaxBytes: limit, acceptCompression: [compressionGzip, compressionBrotli] });
  router.service(Health, {
    check: ({ service }) => {
      if (service === "fail-long") throw new ConnectError("x".repeat(1_100), Code.Internal);
      return { status: HealthCheckResponse_ServingStatus.SERVING };
    },
    watch: async function* () {},
  });
  const serve = connectRoutes(router, createLogger("unit", "silent"));
  server = createDualServer((req, res) => void (serve(req, res) || res.writeHead(404).end()));
  server.on("connection", (socket: Socket) => sockets.add(socket.once("close", () => sockets.delete(socket))));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => closeGracefully(server, 1_000));

/** A gRPC envelope announcing `size` bytes, and the first `sent` of them. */
const envelope = (size: number, sent: number) =>
  Buffer.concat([Buffer.from([0, size >>> 24, (size >>> 16) & 255, (size >>> 8) & 255, size & 255]), Buffer.alloc(sent, 1)]);

describe("a request message over the limit, still being sent", () => {
  it("over HTTP/2 is answered resource_exhausted, the upload is stopped with NO_ERROR and the connection is freed when the client leaves", async () => {
    const session = http2.connect(origin);
    try {
      const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" });
      // 200 KB is more than the 64 KiB flow-control window: the client blocks until told to stop.
      stream.resume().end(envelope(200_000, 200_000));
      const [trailers, closed] = await Promise.all([
        new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once("trailers", resolve)),
        new Promise<number>((resolve) => stream.once("close", () => resolve(stream.rstCode ?? -1))),
      ]);
      assert.equal(trailers["grpc-status"], "8");
      assert.equal(closed, http2.constants.NGHTTP2_NO_ERROR);
    } finally {
      session.destroy();
    }
    // Before the fix the server kept the stream, and with it the socket, for ever.
    await Promise.all([...sockets].map((socket) => new Promise((resolve) => socket.once("close", resolve))));
    assert.equal(sockets.size, 0);
  });

  it("over HTTP/1.1 is answered, and the connection is closed rather than left stuck behind the unread body", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // Never finished: the server has started reading a body it will not read to the end.
      assert.deepEqual(await grpcWeb(agent, envelope(200_000, 100_000), false), { status: 200, connection: "close", grpcStatus: "8" });
      // The same agent's next request is read and answered.
      assert.deepEqual(await grpcWeb(agent, envelope(0, 0), true), { status: 200, connection: "keep-alive", grpcStatus: "0" });
    } finally {
      agent.destroy();
    }
  });
});

describe("a long error answer", () => {
  // Found by the conformance suite: a 500-class Connect error of 1 KiB or more, compressed because the
  // client accepts gzip (every browser does), was parsed as JSON by the undecodable-request rewriter;
  // the parse threw and the call was never answered.
  it("is answered, compressed, with its code", async () => {
    const answer = await fetch(`${origin}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", "accept-encoding": "gzip" },
      body: JSON.stringify({ service: "fail-long" }),
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(answer.status, 500);
    // fetch inflates gzip itself; the header says the server compressed it.
    assert.equal(answer.headers.get("content-encoding"), "gzip");
    assert.deepEqual(await answer.json(), { code: "internal", message: "x".repeat(1_100) });
  });
});

/** A gRPC-web call to Check over HTTP/1.1 with `agent`; the body is ended only if `end`. */
function grpcWeb(agent: http.Agent, body: Buffer, end: boolean) {
  return new Promise<{ status?: number; connection?: string; grpcStatus?: string }>((resolve, reject) => {
    const req = http.request(
      `${origin}${path}`,
      { method: "POST", agent, headers: { "content-type": "application/grpc-web+proto" } },
      (res) => {
        const chunks: Buffer[] = [];
        res
          .on("data", (c: Buffer) => chunks.push(c))
          .on("end", () => {
            const trailer = /grpc-status: ?(\d+)/.exec(Buffer.concat(chunks).toString("latin1"))?.[1];
            resolve({
              status: res.statusCode,
              connection: res.headers.connection,
              grpcStatus: trailer ?? res.headers["grpc-status"]?.toString(),
            });
          });
      },
    );
    req.on("error", reject);
    req.setTimeout(10_000, () => req.destroy(new Error("no answer in 10 s")));
    if (end) req.end(body);
    else req.write(body);
  });
}
