import type * as http from "node:http";

// How a server that knows better than http.Server drains (the dual server), by server.
const drains = new WeakMap<http.Server, (callback: () => void) => void>();

/** Makes closeGracefully drain `server` with `drain`, which calls back once every connection has closed. */
export function drainWith(server: http.Server, drain: (callback: () => void) => void): void {
  drains.set(server, drain);
}

/**
 * Stops accepting connections and waits, at most `graceMs`, until every connection has closed:
 * open requests finish, HTTP/2 clients get GOAWAY, and each HTTP/1.1 connection closes after its
 * next answer (Connection: close) or once idle for the keep-alive timeout, so that no request a
 * client sends on a kept-alive connection meets a closed socket. Then the rest are cut.
 */
export function closeGracefully(server: http.Server, graceMs: number): Promise<void> {
  return new Promise((done) => {
    const force = setTimeout(() => {
      server.closeAllConnections();
      done();
    }, graceMs);
    force.unref();
    const finished = () => {
      clearTimeout(force);
      done();
    };
    const drain = drains.get(server);
    if (drain) return drain(finished);
    server.close(finished);
    server.closeIdleConnections();
  });
}
