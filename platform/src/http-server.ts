import * as http from "node:http";
import * as http2 from "node:http2";
import type { Socket } from "node:net";

/**
 * An HTTP server that speaks HTTP/1.1 and cleartext HTTP/2 (prior knowledge) on one port:
 * browsers use HTTP/1.1, gRPC clients open HTTP/2. It looks at a connection's first bytes,
 * which for HTTP/2 are the fixed preface "PRI * HTTP/2.0".
 */
export function createDualServer(handler: http.RequestListener): http.Server {
  const h1 = http.createServer(handler);
  // The handler must cope with both kinds of request, as Connect's and Fastify's do.
  const h2 = http2.createServer({}, handler as unknown as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void);
  const sessions = new Set<http2.Http2Session>();
  h2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  const [serveHttp1] = h1.listeners("connection") as ((socket: Socket) => void)[];
  h1.removeAllListeners("connection");
  h1.on("connection", (socket: Socket) => {
    socket.once("readable", () => {
      const head: Buffer | null = socket.read();
      if (head) socket.unshift(head);
      if (head?.subarray(0, 4).toString("latin1") === "PRI ") h2.emit("connection", socket);
      else serveHttp1!.call(h1, socket);
    });
  });
  const close = h1.close.bind(h1);
  // Closing the server also asks every HTTP/2 session to finish its open streams and go away.
  h1.close = (callback?: (err?: Error) => void) => {
    for (const session of sessions) session.close();
    return close(callback);
  };
  const closeAll = h1.closeAllConnections.bind(h1);
  h1.closeAllConnections = () => {
    for (const session of sessions) session.destroy();
    closeAll();
  };
  return h1;
}

/** Listens, turning a taken port into one line that names the variable to change. */
export function listen(server: http.Server, port: number, host: string, portVariable: string): Promise<number> {
  return new Promise((ok, fail) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      fail(err.code === "EADDRINUSE" ? new Error(`port ${port} is already in use; set ${portVariable} to another port`) : err),
    );
    server.listen(port, host, () => ok((server.address() as { port: number }).port));
  });
}

/** Stops accepting connections and waits for open requests, at most `graceMs`. */
export function closeGracefully(server: http.Server, graceMs: number): Promise<void> {
  return new Promise((done) => {
    const force = setTimeout(() => {
      server.closeAllConnections();
      done();
    }, graceMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      done();
    });
    server.closeIdleConnections();
  });
}
