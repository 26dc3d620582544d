// The HTTP/2 session manager of the services' Connect clients (the consumer's and the gateway's
// calls to the server): connect-node's, with each session's late errors caught.
import type { Http2Session } from "node:http2";
import { Http2SessionManager } from "@connectrpc/connect-node";

/**
 * A GOAWAY on a session without open streams (a server draining for a restart) makes connect-node
 * destroy it with an error Node emits once the socket has closed. A request in between moves the
 * manager to a new session and takes its error listeners off the old one, so that error was thrown
 * as uncaught and killed the process (connect-es#1768, open in 2.3.0). Every session keeps a
 * listener of its own: the manager still hears each error while it holds the session.
 */
class GuardedSessionManager extends Http2SessionManager {
  private readonly guarded = new WeakSet<Http2Session>();

  override async request(...args: Parameters<Http2SessionManager["request"]>) {
    const stream = await super.request(...args);
    const session = stream.session;
    if (session && !this.guarded.has(session)) {
      this.guarded.add(session);
      session.on("error", () => {}); // the manager has its own listener while the session is current
    }
    return stream;
  }
}

/** The session manager for a Connect transport to `baseUrl` (its `sessionManager` option). */
export const http2SessionManager = (baseUrl: string): Http2SessionManager => new GuardedSessionManager(baseUrl);
