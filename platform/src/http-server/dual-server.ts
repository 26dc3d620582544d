import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import type { Socket } from "node:net";
import { internalConnectionLimits, perAddressLimit, type ConnectionLimits } from "./connection-limits.ts";
import { lingerBeforeClosing, stopUploadOnceAnswered } from "./early-answers.ts";
import { drainWith } from "./graceful-close.ts";

/**
 * An HTTP server that speaks HTTP/1.1 and cleartext HTTP/2 (prior knowledge) on one port:
 * browsers use HTTP/1.1, gRPC clients open HTTP/2. It looks at a connection's first bytes,
 * which for HTTP/2 are the fixed preface "PRI * HTTP/2.0".
 */
export function createDualServer(handler: http.RequestListener, limits: ConnectionLimits = internalConnectionLimits): http.Server {
  const h1 = http1Server(handler, limits);
  const h2 = http2Server(handler, limits);
  const sessions = new Set<http2.Http2Session>();
  h2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  routeByPreface(h1.server, h2, limits);
  const close = h1.server.close.bind(h1.server);
  // Closing the server also asks every HTTP/2 session to finish its open streams and go away.
  h1.server.close = (callback?: (err?: Error) => void) => {
    for (const session of sessions) session.close();
    return close(callback);
  };
  drainWith(h1.server, (callback) => {
    h1.drain();
    for (const session of sessions) session.close();
    // net.Server's close: stop accepting. http.Server's would also cut idle keep-alive connections at
    // once, racing a request a client is sending on one; they close after their next answer instead.
    net.Server.prototype.close.call(h1.server, () => callback());
  });
  const closeAll = h1.server.closeAllConnections.bind(h1.server);
  h1.server.closeAllConnections = () => {
    for (const session of sessions) session.destroy();
    closeAll();
  };
  return h1.server;
}

/** The HTTP/1.1 server, and how it drains: answers not yet sent close their connection. */
function http1Server(handler: http.RequestListener, limits: ConnectionLimits): { server: http.Server; drain: () => void } {
  // HTTP/1.1 responses not yet sent: when the server drains, they close their connection.
  const unsent = new Set<http.ServerResponse>();
  let draining = false;
  const server = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      // A whole request body must arrive within this; responses (streams) are not bound by it.
      requestTimeout: Math.max(30_000, limits.headersTimeoutMs),
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
    },
    (req, res) => {
      // A request pipelined behind an answer that closed the connection is not run: its answer could not be sent.
      if (req.socket.writableEnded) return void req.resume();
      // Answered before the whole body came: read the rest and drop it (see lingerBeforeClosing).
      res.once("finish", () => req.complete || req.resume());
      if (draining) res.shouldKeepAlive = false;
      else {
        unsent.add(res);
        res.once("finish", () => unsent.delete(res)).once("close", () => unsent.delete(res));
      }
      handler(req, res);
    },
  );
  server.timeout = limits.idleTimeoutMs;
  const drain = () => {
    draining = true;
    for (const res of unsent) if (!res.headersSent) res.shouldKeepAlive = false;
  };
  return { server, drain };
}

function http2Server(handler: http.RequestListener, limits: ConnectionLimits): http2.Http2Server {
  // The handler must cope with both kinds of request, as Connect's and Fastify's do.
  const options: http2.ServerOptions = {
    settings: { maxConcurrentStreams: limits.maxStreamsPerConnection },
    ...(limits.streamResets && { streamResetBurst: limits.streamResets.burst, streamResetRate: limits.streamResets.perSecond }),
    ...(limits.maxHeaderListPairs && { maxHeaderListPairs: limits.maxHeaderListPairs }),
    ...(limits.maxSessionMemoryMb && { maxSessionMemory: limits.maxSessionMemoryMb }),
  };
  const server = http2.createServer(options, (req, res) => {
    stopUploadOnceAnswered(req.stream);
    (handler as unknown as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void)(req, res);
  });
  server.setTimeout(limits.idleTimeoutMs);
  return server;
}

/** Takes the connections `h1` accepts, admits them per address, and hands each to the server its first bytes ask for. */
function routeByPreface(h1: http.Server, h2: http2.Http2Server, limits: ConnectionLimits): void {
  const admit = perAddressLimit(limits.maxConnectionsPerAddress, limits.trustedProxy);
  const [serveHttp1] = h1.listeners("connection") as ((socket: Socket) => void)[];
  h1.removeAllListeners("connection");
  h1.on("connection", (socket: Socket) => {
    if (!admit(socket)) return void socket.destroy();
    // Until its first bytes arrive a connection belongs to neither server, so neither times it out.
    socket.setTimeout(limits.headersTimeoutMs, () => socket.destroy());
    socket.once("readable", () => {
      socket.setTimeout(0);
      const head: Buffer | null = socket.read();
      // Closed before sending anything (or timed out above): nothing to serve.
      if (!head || socket.destroyed) return void socket.destroy();
      socket.unshift(head);
      if (head.subarray(0, 4).toString("latin1") === "PRI ") h2.emit("connection", socket);
      else serveHttp1!.call(h1, lingerBeforeClosing(socket, limits.closeLingerMs));
    });
  });
}
