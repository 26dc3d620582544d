// A server restarting for a deploy ends its HTTP/2 sessions with a GOAWAY. A call its Connect
// clients (the consumer, the gateway) make right then must not crash them (connect-es#1768).
import assert from "node:assert/strict";
import { once } from "node:events";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { it } from "node:test";
import { http2SessionManager } from "@invoicer/platform/http2-sessions";

/** A server that, once each call is answered, closes that call's session as a draining server does (GOAWAY, NO_ERROR). */
async function drainingServer() {
  const server = http2.createServer();
  server.on("stream", (stream) => {
    const session = stream.session!;
    stream.on("close", () => session.close());
    stream.respond({ ":status": 200 });
    stream.end("ok");
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function answered(stream: http2.ClientHttp2Stream) {
  stream.end();
  const [headers] = (await once(stream, "response")) as [http2.IncomingHttpHeaders];
  stream.resume();
  await once(stream, "close");
  return headers[":status"];
}

it("takes a call made right after the server's GOAWAY on an idle session, and the process stays up", { timeout: 10_000 }, async () => {
  const { server, url } = await drainingServer();
  const manager = http2SessionManager(url);
  const uncaught: unknown[] = [];
  let crashed!: () => void;
  const crash = new Promise<void>((done) => (crashed = done));
  const onUncaught = (err: unknown) => {
    uncaught.push(err);
    crashed();
  };
  process.on("uncaughtException", onUncaught);
  try {
    const first = await manager.request("POST", "/first", {}, {});
    const session = first.session!;
    const goaway = once(session, "goaway");
    const closed = new Promise((done) => session.once("close", done)); // events.once would listen for "error" too
    assert.equal(await answered(first), 200);
    await goaway;
    assert.ok(session.destroyed, "the manager destroyed the idle session on its GOAWAY");
    // Its error is still to come, just before "close", once the socket has closed.
    const second = await manager.request("POST", "/second", {}, {});
    assert.notEqual(second.session, session, "the call goes on a new session");
    assert.equal(await answered(second), 200);
    await Promise.race([closed, crash]); // an uncaught error thrown while closing means "close" never comes
    await new Promise((r) => setImmediate(r)); // and one emitted with "close" has reached the handler
    assert.deepEqual(uncaught.map(String), [], "no uncaught error");
  } finally {
    process.off("uncaughtException", onUncaught);
    server.close();
  }
});
