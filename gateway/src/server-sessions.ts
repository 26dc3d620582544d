// The gateway's HTTP/2 sessions to the server: a few per endpoint, never one for every tenant, and
// each replaced as soon as it stops taking streams (GOAWAY, an error, a refused stream, or its
// stream ids running out), while the streams it still carries finish on it.
import * as http2 from "node:http2";
import type { Logger } from "@invoicer/platform/logger";
import type { Endpoint, ServerEndpoints } from "@invoicer/platform/server-endpoints";

const { NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

export interface ServerSessionOptions {
  /** Sessions kept to each endpoint; a call takes the one with the fewest open streams. */
  perEndpoint: number;
  /** Streams one session starts before it is replaced: client stream ids end at 2^31 (Node then fails every new one). */
  maxStreamsPerSession: number;
}

interface Session {
  http2: http2.ClientHttp2Session;
  open: number;
  started: number;
  retired: boolean;
}

/** Sessions to every endpoint of `endpoints`; `request` opens a stream on the least busy one of the endpoint given. */
export function serverSessions(
  endpoints: ServerEndpoints,
  { perEndpoint, maxStreamsPerSession }: ServerSessionOptions,
  log: Pick<Logger, "warn">,
) {
  const pools = new Map<string, Session[]>();
  const retire = (url: string, session: Session, why: string) => {
    if (session.retired) return;
    session.retired = true;
    const pool = pools.get(url) ?? [];
    if (pool.includes(session)) pool.splice(pool.indexOf(session), 1);
    if (pool.length === 0) pools.delete(url);
    if (why) log.warn({ endpoint: url, why }, "replacing a session to the server");
    if (session.open === 0) session.http2.close(); // else its last stream closes it
  };
  const connect = (url: string): Session => {
    // Windows far above HTTP/2's 64 KiB, so the server sends an answer as fast as it writes it: what a
    // slow caller has not taken waits here, counted per tenant, not in the session's memory on the server.
    const session: Session = {
      http2: http2.connect(url, { settings: { initialWindowSize: streamWindowBytes } }),
      open: 0,
      started: 0,
      retired: false,
    };
    session.http2.once("connect", () => session.http2.setLocalWindowSize(sessionWindowBytes));
    watchLiveness(session.http2);
    session.http2.on("goaway", (code) => retire(url, session, code === NGHTTP2_NO_ERROR ? "" : `GOAWAY ${code}`));
    session.http2.on("error", (err: NodeJS.ErrnoException) => {
      retire(url, session, err.code ?? "error");
      session.http2.destroy();
    });
    session.http2.on("close", () => retire(url, session, ""));
    session.http2.unref();
    return session;
  };
  const leastBusy = (url: string): Session => {
    const pool = pools.get(url) ?? pools.set(url, []).get(url)!;
    if (pool.length < perEndpoint) pool.push(connect(url));
    return pool.reduce((a, b) => (b.open < a.open ? b : a));
  };
  endpoints.onRemoved((gone) => gone.forEach((e) => [...(pools.get(e.url) ?? [])].forEach((s) => retire(e.url, s, "endpoint removed"))));

  return {
    /** A stream to `endpoint` (it throws when the session is already going away: the caller tries again or answers). */
    request(endpoint: Endpoint, headers: http2.OutgoingHttpHeaders): http2.ClientHttp2Stream {
      const session = leastBusy(endpoint.url);
      const stream = session.http2.request(headers);
      session.open++;
      if (++session.started >= maxStreamsPerSession) retire(endpoint.url, session, "stream ids used up");
      stream.once("close", () => {
        if (--session.open === 0 && session.retired) session.http2.close();
        // The server took no more streams on this session (memory, or its stream limit): the next call gets a fresh one.
        if (stream.rstCode === NGHTTP2_REFUSED_STREAM || stream.rstCode === NGHTTP2_ENHANCE_YOUR_CALM) {
          retire(endpoint.url, session, `stream refused (${stream.rstCode})`);
        }
      });
      return stream;
    },
    close() {
      for (const [url, pool] of pools) [...pool].forEach((s) => retire(url, s, ""));
    },
  };
}

/** Flow-control windows of the gateway's sessions: one answer's, and every answer's on a session. */
const streamWindowBytes = 8 * 1024 * 1024;
const sessionWindowBytes = 64 * 1024 * 1024;

/** How long a connection may take to open, and how long a PING may wait for its answer. */
const livenessMs = 5_000;

/**
 * A server that drops packets, or a connection that died without a FIN, would hold every call on the
 * session until its deadline: a connect that takes too long, or a PING unanswered for `livenessMs`,
 * destroys the session (its calls fail as never connected, or Unavailable) and it is replaced.
 */
function watchLiveness(session: http2.ClientHttp2Session) {
  const dead = () => session.destroy(Object.assign(new Error("the server did not answer in time"), { code: "ETIMEDOUT" }));
  let awaitingPing = false;
  const timer = setTimeout(dead, livenessMs).unref();
  session.once("connect", () => {
    clearTimeout(timer);
    const pinger = setInterval(() => {
      if (awaitingPing) return dead();
      awaitingPing = session.ping(() => (awaitingPing = false));
    }, livenessMs).unref();
    session.once("close", () => clearInterval(pinger));
  });
  session.once("close", () => clearTimeout(timer));
}
