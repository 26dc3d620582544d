// A caller's request body on its way to the server, kept while it is small enough to be sent
// again, whole, to another endpoint when the first one refused or failed the call.
import type { IncomingMessage } from "node:http";
import type { ClientHttp2Stream, Http2ServerRequest } from "node:http2";

export interface ResendableBody {
  /** Streams the body to `upstream`: what was kept first, then the rest as it arrives. */
  sendTo(upstream: ClientHttp2Stream): void;
  /** The whole body so far is kept, so it can go again. */
  resendable(): boolean;
  /** The server's answer has begun: the call will not go again, so nothing more is kept. */
  forget(): void;
}

/** Where kept bytes are counted (the tenant's capacity): a refused hold stops the keeping. */
export interface KeptBytesLedger {
  hold(bytes: number): boolean;
  release(bytes: number): void;
}

/** Reads `req`'s body for whichever stream it is sent to, keeping up to `keepBytes` of it, held in `ledger`, until `forget`. */
export function resendableBody(req: IncomingMessage | Http2ServerRequest, keepBytes: number, ledger: KeptBytesLedger): ResendableBody {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let seen = 0;
  let target: ClientHttp2Stream | undefined;
  let forgotten = false;
  let complete = true;
  /** Nothing more is kept: what was is given back. */
  const drop = () => {
    complete = false;
    ledger.release(keptBytes);
    keptBytes = 0;
    kept.length = 0;
  };
  req.on("data", (chunk: Buffer) => {
    seen += chunk.length;
    if (complete && !forgotten && seen <= keepBytes && ledger.hold(chunk.length)) {
      kept.push(chunk);
      keptBytes += chunk.length;
    } else drop();
    // Back-pressure from the server reaches the caller; a closed upstream drops what comes.
    if (target?.writable && !target.write(chunk)) {
      req.pause();
      target.once("drain", () => req.resume());
    }
  });
  req.on("end", () => target?.writable && target.end());
  return {
    sendTo(upstream) {
      target = upstream;
      // Once the server has answered or failed, the rest is read and dropped, or an HTTP/1.1 caller's connection stalls.
      upstream.once("close", () => req.resume());
      if (upstream.writable) {
        for (const chunk of kept) upstream.write(chunk);
        if (req.readableEnded) upstream.end();
      }
      req.resume();
    },
    resendable: () => complete && !forgotten,
    forget() {
      forgotten = true;
      drop();
    },
  };
}
