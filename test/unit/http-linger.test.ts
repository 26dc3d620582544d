// An HTTP/1.1 answer sent before the request body has arrived (415, 413) closes its connection; a
// client still sending must get the answer, not a reset. The conformance suite's Go client saw
// "broken pipe" now and then: the socket was closed with request bytes still arriving, and the
// kernel's reset discarded the answer before the client read it.
import assert from "node:assert/strict";
import type http from "node:http";
import net, { type AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { closeGracefully } from "@invoicer/platform/http-server/graceful-close";
import { createDualServer } from "@invoicer/platform/http-server/dual-server";
import { internalConnectionLimits } from "@invoicer/platform/http-server/connection-limits";

let server: http.Server;
let port: number;

before(async () => {
  // Answers at once, reading nothing, and closes the connection after the answer.
  server = createDualServer(
    (_req, res) => {
      res.shouldKeepAlive = false;
      res.writeHead(415, { "content-type": "text/plain" }).end("unsupported media type");
    },
    { ...internalConnectionLimits, closeLingerMs: 300 },
  );
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  port = (server.address() as AddressInfo).port;
});
after(() => closeGracefully(server, 1_000));

/** Sends the headers, then the body in 1 KiB pieces every 2 ms, reading what comes; a half-closed socket keeps sending, as Go's does. */
function slowUpload(bodyBytes: number) {
  return new Promise<{ answer: string; sent: number; error?: string }>((done) => {
    const socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    let answer = "";
    let sent = 0;
    let error: string | undefined;
    socket.on("data", (chunk: Buffer) => (answer += chunk.toString()));
    socket.on("error", (err: NodeJS.ErrnoException) => (error = err.code));
    socket.on("close", () => done({ answer, sent, error }));
    socket.write(`POST /x HTTP/1.1\r\nhost: x\r\ncontent-type: text/html\r\ncontent-length: ${bodyBytes}\r\n\r\n`);
    const pieces = setInterval(() => {
      if (socket.destroyed || sent >= bodyBytes) {
        clearInterval(pieces);
        if (!socket.destroyed) socket.end();
        return;
      }
      socket.write(Buffer.alloc(1024, 97));
      sent += 1024;
    }, 2);
  });
}

describe("an early HTTP/1.1 answer with Connection: close", () => {
  it("reads the rest of the body the client is still sending, then closes: no reset", async () => {
    const { answer, sent, error } = await slowUpload(64 * 1024);
    assert.match(answer, /^HTTP\/1\.1 415 /);
    assert.equal(error, undefined, "the client's upload was cut by a reset");
    assert.equal(sent, 64 * 1024);
  });

  it("closes after its bound when the body does not end", { timeout: 5_000 }, async () => {
    const { answer, sent } = await slowUpload(64 * 1024 * 1024);
    assert.match(answer, /^HTTP\/1\.1 415 /);
    // 1 KiB every 2 ms: about 150 KiB in the 300 ms bound; 1 MiB would mean the bound did not hold.
    assert.ok(sent < 1024 * 1024, `the connection stayed open for ${sent} bytes`);
  });
});
