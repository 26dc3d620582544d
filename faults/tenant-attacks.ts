// What one tenant with a good API key can do to the others through the gateway (issue 30): leave
// megabytes of answers unread, start calls whose request never ends, hold hundreds of watch
// streams. Each attack runs until stopped and reports how each of its calls ended.
import * as http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { ListInvoicesRequestSchema, WatchInvoicesRequestSchema } from "@invoicer/sdk";

export type Outcomes = Record<string, number>;

/** An attack under way: `stop` ends its calls and connections and says how each call ended. */
export interface HeldAttack {
  /** Calls the attack started, renewed ones included. */
  started(): number;
  /** Resolves once each call started with the attack has its answer begun (or has ended): they hold their place at the gateway. */
  begun: Promise<void>;
  stop(): Promise<Outcomes>;
}

/** What an attack keeps while it runs. */
interface AttackState {
  stopped: boolean;
  started: number;
  outcomes: Outcomes;
  /** Each call's close, counted. */
  closes: Promise<void>[];
  /** Each call's answer begun, or its close. */
  answers: Promise<void>[];
}

const attackState = (started = 0): AttackState => ({ stopped: false, started, outcomes: {}, closes: [], answers: [] });

const { NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;
const listInvoices = "/invoicer.v1.InvoiceService/ListInvoices";
const watchInvoices = "/invoicer.v1.InvoiceService/WatchInvoices";
/** Streams the gateway lets one connection have open (MAX_STREAMS_PER_CONNECTION is 100). */
const streamsPerConnection = 50;

const count = (outcomes: Outcomes, what: string) => void (outcomes[what] = (outcomes[what] ?? 0) + 1);
const pageOf = (pageSize: number) => toBinary(ListInvoicesRequestSchema, create(ListInvoicesRequestSchema, { pageSize }));

/** A gRPC call of the tenant's over `session`: its request sent whole, or left open (HEADERS and DATA, never END_STREAM). */
export function grpcCall(session: http2.ClientHttp2Session, apiKey: string, path: string, message: Uint8Array, end = true) {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  const call = session.request({
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc",
    te: "trailers",
    authorization: `Bearer ${apiKey}`,
  });
  if (end) call.end(frame);
  else call.write(frame);
  return call;
}

/** How a call ended: cut by the gateway, a gRPC status (with the reason for ResourceExhausted), a reset, or still open when the attack stopped. */
function outcomeOf(call: http2.ClientHttp2Stream, status: http2.IncomingHttpHeaders, stopped: boolean): string {
  if (call.rstCode === NGHTTP2_ENHANCE_YOUR_CALM) return "cut by the gateway (ENHANCE_YOUR_CALM)";
  const code = status["grpc-status"];
  if (code !== undefined) {
    const message = decodeURIComponent(String(status["grpc-message"] ?? ""));
    return code === "8" ? `ResourceExhausted: ${message.replace(/\d+/g, "N").slice(0, 60)}` : `grpc-status ${String(code)}`;
  }
  return stopped ? "open until the attack stopped" : `reset ${call.rstCode ?? "?"}`;
}

/** One call of an attack, counted when it closes; `onCut` runs when the gateway cut it (the attacker sends it again). */
function tracked(call: http2.ClientHttp2Stream, state: AttackState, onCut?: () => void) {
  let status: http2.IncomingHttpHeaders = {};
  call.on("error", () => undefined); // cut calls are the point here
  call.on("response", (h) => (status = h["grpc-status"] !== undefined ? h : status));
  call.on("trailers", (t) => (status = t));
  state.answers.push(new Promise((begun) => call.once("response", begun).once("close", begun)));
  state.closes.push(
    new Promise((closed) =>
      call.once("close", () => {
        count(state.outcomes, outcomeOf(call, status, state.stopped));
        if (!state.stopped && call.rstCode === NGHTTP2_ENHANCE_YOUR_CALM) onCut?.();
        closed();
      }),
    ),
  );
}

/** Sessions from `localAddress`, their own errors ignored (the gateway may close them). */
function sessionsFrom(url: string, localAddress: string, n: number, settings?: http2.Settings) {
  return Array.from({ length: n }, () => {
    const session = http2.connect(url, { localAddress, ...(settings && { settings }) } as http2.SecureClientSessionOptions);
    session.on("error", () => undefined);
    return session;
  });
}

function heldAttack(sessions: http2.ClientHttp2Session[], state: AttackState): HeldAttack {
  return {
    started: () => state.started,
    begun: Promise.all(state.answers).then(() => undefined),
    async stop() {
      state.stopped = true;
      for (const session of sessions) session.destroy();
      await Promise.all(state.closes);
      return state.outcomes;
    },
  };
}

/**
 * The unread-answers attack: `connections` HTTP/2 connections that never open their flow-control
 * window (initialWindowSize 0), each keeping `callsPerConnection` ListInvoices(page_size) calls
 * open; a call the gateway cuts is sent again at once, so the answers wait unread all along.
 */
export function unreadAnswers(
  url: string,
  localAddress: string,
  apiKey: string,
  connections: number,
  callsPerConnection: number,
  pageSize = 100,
) {
  const state = attackState();
  const page = pageOf(pageSize);
  const sessions = sessionsFrom(url, localAddress, connections, { initialWindowSize: 0 });
  const send = (session: http2.ClientHttp2Session) => {
    if (session.closed || session.destroyed) return;
    state.started++;
    tracked(grpcCall(session, apiKey, listInvoices, page), state, () => send(session));
  };
  for (const session of sessions) for (let i = 0; i < callsPerConnection; i++) send(session);
  return heldAttack(sessions, state);
}

/**
 * No attack, for comparison: `connections` HTTP/2 connections that read their answers, each keeping
 * `callsPerConnection` ListInvoices(page_size) calls going, the next sent as one ends (after
 * `refusedPauseMs` when refused): the reads of the unread-answers attack as an ordinary client makes them.
 */
export function ordinaryReads(
  url: string,
  localAddress: string,
  apiKey: string,
  connections: number,
  callsPerConnection: number,
  pageSize = 100,
  refusedPauseMs = 200,
) {
  const state = attackState();
  const page = pageOf(pageSize);
  const sessions = sessionsFrom(url, localAddress, connections);
  const send = (session: http2.ClientHttp2Session) => {
    if (state.stopped || session.closed || session.destroyed) return;
    state.started++;
    const call = grpcCall(session, apiKey, listInvoices, page);
    let refused = false;
    call.on("data", () => undefined);
    call.on("trailers", (t) => (refused = t["grpc-status"] === "8"));
    call.on("response", (h) => (refused ||= h["grpc-status"] === "8"));
    call.once("close", () => setTimeout(() => send(session), refused ? refusedPauseMs : 0));
    tracked(call, state);
  };
  for (const session of sessions) for (let i = 0; i < callsPerConnection; i++) send(session);
  return heldAttack(sessions, state);
}

/** `n` ListInvoices calls whose request never ends (HEADERS and a message, no END_STREAM), on connections kept alive. */
export function unendedRequests(url: string, localAddress: string, apiKey: string, n: number): HeldAttack {
  const state = attackState(n);
  const sessions = sessionsFrom(url, localAddress, Math.ceil(n / streamsPerConnection));
  for (let i = 0; i < n; i++) {
    const session = sessions[Math.floor(i / streamsPerConnection)]!;
    tracked(grpcCall(session, apiKey, listInvoices, pageOf(1), false), state);
  }
  return heldAttack(sessions, state);
}

/**
 * `n` WatchInvoices streams opened at once, `streamsPerConnection` to a connection, held open until
 * stopped; one refused (ResourceExhausted) is opened again after `refusedPauseMs`, as a client that
 * honours Retry-After (1-2 s from the gateway's stream-opening rate) does, all in one wave.
 */
export function watchStreams(url: string, localAddress: string, apiKey: string, n: number, refusedPauseMs = 1_000): HeldAttack {
  const state = attackState();
  const sessions = sessionsFrom(url, localAddress, Math.ceil(n / streamsPerConnection));
  const request = toBinary(WatchInvoicesRequestSchema, create(WatchInvoicesRequestSchema));
  const open = (session: http2.ClientHttp2Session) => {
    if (state.stopped || session.closed || session.destroyed) return;
    state.started++;
    const call = grpcCall(session, apiKey, watchInvoices, request);
    let refused = false;
    call.on("data", () => undefined); // a watcher reads its keep-alives
    call.on("response", (h) => (refused ||= h["grpc-status"] === "8"));
    call.on("trailers", (t) => (refused ||= t["grpc-status"] === "8"));
    call.once("close", () => refused && setTimeout(() => open(session), refusedPauseMs));
    tracked(call, state); // `begun` awaits only the first n: it was made before any is opened again
  };
  for (let i = 0; i < n; i++) open(sessions[Math.floor(i / streamsPerConnection)]!);
  return heldAttack(sessions, state);
}
