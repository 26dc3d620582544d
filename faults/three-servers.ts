// Three servers behind one gateway and two consumers, each listing all three in SERVER_URL: how
// evenly the calls spread (each server's own /metrics), then how fast calls move away from a
// server that hangs (SIGSTOP: it accepts connections and never answers) and from one that dies.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import postgres from "postgres";
import { attemptsByCode, callTimeoutMs, quantileMs, type LoadStats } from "./load.ts";
import type { Findings, Run } from "./run.ts";

export interface ThreeServersPlan {
  /** When the shares are read and the third server is SIGSTOPped. */
  stopAtMs: number;
  /** How long it stays stopped before SIGCONT. */
  stoppedForMs: number;
  /** When the second server is SIGKILLed (not restarted). */
  killAtMs: number;
  /** SERVER_REFRESH_MS of the gateway and the consumers. */
  refreshMs: number;
}

/** Each server's share of a method's calls may be a third, give or take this fraction of a third. */
const shareTolerance = 0.25;
/** The gateway's health check gives up on an endpoint after this (platform/src/balanced-transport.ts). */
const healthCheckTimeoutMs = 2_000;
/** Latitude for the timers of a busy machine (two cores for everything). */
const slackMs = 500;
/** The methods whose shares are judged: the gateway forwards the load's creates, the consumers attach documents. */
const judgedMethods = ["CreateInvoice", "AttachDocuments"];
/** New bytes on one connection to the stopped server within a sample that mean a call arrived (a health check or a reset is smaller). */
const callBytes = 300;
const sampleEveryMs = 100;
/** When PostgreSQL is asked what the stopped server left open: any transaction idle this long is the stopped server's. */
const lockLookAfterMs = 2_000;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms)); // fault timeline: "at 10 s, SIGSTOP"

export async function threeServers(run: Run, plan: ThreeServersPlan): Promise<Findings> {
  const loadStarted = performance.now();
  await pause(plan.stopAtMs);
  const counts = await Promise.all(run.serverMetricsUrls.map(callsByMethod));
  const shares = judgedMethods.map((method) =>
    shareFinding(
      method,
      run.servers.map((s) => s.name),
      counts.map((c) => c[method] ?? 0),
    ),
  );
  const [stopped, killed] = [run.servers[2]!, run.servers[1]!];
  const { stoppedAt, tries, holding } = await stopHoldingCounterLock(stopped.pid()!, run.databaseUrl);
  const arrivals = callsArriving(Number(new URL(run.serverUrls[2]!).port));
  let held: Stop["held"];
  try {
    held = await pause(lockLookAfterMs).then(() => heldTransactions(run.databaseUrl));
    await pause(Math.max(0, stoppedAt + plan.stoppedForMs - performance.now()));
  } finally {
    process.kill(stopped.pid()!, "SIGCONT");
  }
  const stop = { stoppedAt, resumedAt: performance.now(), tries, holding, lastCallAt: arrivals.stop(), held };
  await pause(Math.max(0, loadStarted + plan.killAtMs - performance.now()));
  const killedAt = performance.now();
  await killed.kill();
  const load = await run.load;
  const moved = stopFinding(stopped.name, load, stop, plan.refreshMs);
  const died = killFinding(killed.name, load, killedAt);
  const failed = load.failed > 0 ? [`${load.failed} creates failed after ${60} attempts`] : [];
  return {
    notes: [...shares.map((s) => s.note), moved.note, died.note, retriesNote(load)],
    broken: [...shares.flatMap((s) => s.broken), ...moved.broken, ...failed],
  };
}

/** RPCs a server has answered, by method: the counts of its rpc_server_duration_seconds histogram, every code. */
async function callsByMethod(metricsUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const [, labels, n] of text.matchAll(/^rpc_server_duration_seconds_count\{([^}]*)\} (\d+)/gm)) {
    const method = /rpc_method="(\w+)"/.exec(labels!)?.[1] ?? "?";
    counts[method] = (counts[method] ?? 0) + Number(n);
  }
  return counts;
}

function shareFinding(method: string, servers: string[], counts: number[]) {
  const total = counts.reduce((a, b) => a + b, 0);
  const third = total / servers.length;
  const shares = counts.map((n, i) => `${servers[i]} ${n} (${((100 * n) / Math.max(1, total)).toFixed(1)} %)`);
  const off = counts.flatMap((n, i) => (Math.abs(n - third) > shareTolerance * third || total === 0 ? [servers[i]!] : []));
  const note = `${method} before the faults: ${total} calls, ${shares.join(", ")}`;
  const broken = off.length > 0 ? [`${method}: ${off.join(", ")} outside a third ±${100 * shareTolerance} % (${shares.join(", ")})`] : [];
  return { note, broken };
}

/** Brief stops tried before the one that found a create's transaction open on the server (then it stays stopped anyway). */
const maxStopTries = 50;

/**
 * SIGSTOPs `pid` at a moment it holds a create's transaction open: one that has claimed its tenant's
 * next number (a RowExclusiveLock on invoice_counters, its row locked until COMMIT). A stop that
 * finds none is undone at once and tried again 50 ms later; the stop found is left in place.
 */
async function stopHoldingCounterLock(pid: number, databaseUrl: string): Promise<{ stoppedAt: number; tries: number; holding: boolean }> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const databasePort = Number(new URL(databaseUrl).port || 5432);
  try {
    for (let tries = 1; ; tries++) {
      process.kill(pid, "SIGSTOP");
      const stoppedAt = performance.now();
      const ports = connectionPorts(pid, databasePort);
      const [holding] = await sql`
        select 1 from pg_locks l join pg_stat_activity a using (pid)
        where a.client_port = any(${ports}::int[]) and l.locktype = 'relation' and l.granted
          and l.relation = 'invoice_counters'::regclass and l.mode = 'RowExclusiveLock' limit 1`;
      if (holding || tries === maxStopTries) return { stoppedAt, tries, holding: Boolean(holding) };
      process.kill(pid, "SIGCONT");
      await pause(50); // pacing the tries: a stop lasts only as long as the look
    }
  } finally {
    await sql.end();
  }
}

/** The local ports of `pid`'s TCP connections to `port` (its database pool), from its sockets in /proc. */
function connectionPorts(pid: number, port: number): number[] {
  const inodes = new Set(
    readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
      try {
        return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1] ?? [];
      } catch {
        return []; // closed meanwhile
      }
    }),
  );
  const remote = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  return ["/proc/net/tcp", "/proc/net/tcp6"].flatMap((table) =>
    readFileSync(table, "latin1")
      .split("\n")
      .slice(1)
      .flatMap((line) => {
        const f = line.trim().split(/\s+/);
        return f[2]?.endsWith(remote) && inodes.has(f[9]!) ? [parseInt(f[1]!.split(":").at(-1)!, 16)] : [];
      }),
  );
}

/**
 * Calls arriving at a stopped server, seen from outside: its process reads nothing, so what is sent
 * to it waits in its sockets' receive queues (/proc/net/tcp); `stop` says when a connection to it
 * last received a call's worth of bytes (the gateway's forwarded calls and own calls, the consumers').
 */
function callsArriving(port: number) {
  let lastCallAt = performance.now();
  let before = unreadBytes(port);
  const timer = setInterval(() => {
    const now = unreadBytes(port);
    for (const [connection, bytes] of now) if (bytes - (before.get(connection) ?? 0) >= callBytes) lastCallAt = performance.now();
    before = now;
  }, sampleEveryMs); // sampling a kernel counter: nothing to await
  return { stop: () => (clearInterval(timer), lastCallAt) };
}

/** Bytes received and not yet read on each established connection to `port` on this machine, by the peer's address. */
function unreadBytes(port: number): Map<string, number> {
  const local = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  const unread = new Map<string, number>();
  for (const line of readFileSync("/proc/net/tcp", "latin1").split("\n").slice(1)) {
    const [, from, peer, state, queues] = line.trim().split(/\s+/);
    if (from?.endsWith(local) && state === "01") unread.set(peer!, parseInt(queues!.split(":")[1]!, 16));
  }
  return unread;
}

/** Transactions idle in PostgreSQL for over a second (a stopped server's: the others finish theirs in milliseconds), and sessions waiting for a lock. */
async function heldTransactions(databaseUrl: string): Promise<{ idle: number; waiting: number }> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ idle: number; waiting: number }[]>`
      select count(*) filter (where state = 'idle in transaction' and now() - state_change > interval '1 second')::int as idle,
             count(*) filter (where wait_event_type = 'Lock')::int as waiting
      from pg_stat_activity where datname = current_database()`;
    return row!;
  } finally {
    await sql.end();
  }
}

/** The longest time between two acknowledged creates (or a window's start or end) in `[from, to]`. */
function longestSilenceMs(load: LoadStats, from: number, to: number): number {
  const acked = load.calls.map((c) => c.startedAt + c.ms).filter((t) => t > from && t < to);
  const times = [from, ...acked.sort((a, b) => a - b), to];
  return Math.round(times.reduce((longest, t, i) => (i === 0 ? 0 : Math.max(longest, t - times[i - 1]!)), 0));
}

/** Failed attempts that were under way at `from` or began before `to`. */
const failedAround = (load: LoadStats, from: number, to: number) =>
  load.failedAttempts.filter((a) => a.startedAt + a.ms >= from && a.startedAt < to);

interface Stop {
  stoppedAt: number;
  resumedAt: number;
  /** When the last call reached the stopped server's sockets. */
  lastCallAt: number;
  /** What PostgreSQL held for it 2 s into the stop. */
  held: { idle: number; waiting: number };
  /** Stops it took to catch it in a create's transaction, and whether one did. */
  tries: number;
  holding: boolean;
}

/**
 * How calls moved away from the stopped server: when the last call reached it (against the bound
 * SERVER_REFRESH_MS + the health check's 2 s), and whether B's and C's creates went on meanwhile
 * (no acknowledgement for longer than that bound and an attempt's deadline is a stall).
 */
function stopFinding(name: string, load: LoadStats, { stoppedAt, resumedAt, lastCallAt, held, tries, holding }: Stop, refreshMs: number) {
  const failed = failedAround(load, stoppedAt, resumedAt);
  const lastArrivedMs = Math.round(lastCallAt - stoppedAt);
  const silenceMs = longestSilenceMs(load, stoppedAt, resumedAt);
  const during = load.calls.filter((c) => c.startedAt >= stoppedAt - callTimeoutMs && c.startedAt < resumedAt).map((c) => c.ms);
  const boundMs = refreshMs + healthCheckTimeoutMs;
  const note =
    `${name} SIGSTOPped for ${Math.round(resumedAt - stoppedAt)} ms, ${holding ? `caught in a create's transaction (its tenant's counter row locked) at the ${tries}. brief stop` : `in no create's transaction after ${tries} brief stops`}: the last call reached its sockets ${lastArrivedMs} ms after SIGSTOP ` +
    `(bound: SERVER_REFRESH_MS ${refreshMs} + health check ${healthCheckTimeoutMs} = ${boundMs} ms; calls already on it wait for their deadline, the load's ${callTimeoutMs / 1000} s); ` +
    `${lockLookAfterMs / 1000} s into the stop PostgreSQL had ${held.idle} transactions of it idle (their row locks held) and ${held.waiting} sessions waiting for a lock; ` +
    `no create was acknowledged for ${silenceMs} ms at most during the stop; ${failed.length} attempts failed (${attemptsByCode(failed)}), each retried with its idempotency key; ` +
    `creates under way: ${during.length}, p99 ${quantileMs(during, 0.99)} ms, the longest ${quantileMs(during, 1)} ms (retries included)`;
  // How fast calls move away is a speed target (printed PASS or MISS); a stall of every create fails the run.
  const target = `; target: no call reaches it past ${boundMs} ms: ${lastArrivedMs <= boundMs + slackMs ? "PASS" : "MISS"}`;
  const broken = [
    silenceMs > boundMs + callTimeoutMs + slackMs
      ? `B's and C's creates stalled while ${name} was stopped: none acknowledged for ${silenceMs} ms (bound ${boundMs + callTimeoutMs} ms)`
      : "",
  ].filter(Boolean);
  return { note: note + target, broken };
}

/** What the killed server's calls did: failed attempts around the kill, and the longest create begun within an attempt's deadline of it. */
function killFinding(name: string, load: LoadStats, killedAt: number) {
  const failed = failedAround(load, killedAt, killedAt + callTimeoutMs);
  const around = load.calls.filter((c) => Math.abs(c.startedAt - killedAt) < callTimeoutMs).map((c) => c.ms);
  const lastSent = Math.round(Math.max(0, ...failed.map((a) => a.startedAt - killedAt)));
  const silenceMs = longestSilenceMs(load, killedAt, killedAt + callTimeoutMs);
  const note =
    `${name} SIGKILLed: ${failed.length} attempts failed (${attemptsByCode(failed)}), each retried with its idempotency key, the last begun ${lastSent} ms after the kill; ` +
    `no create was acknowledged for ${silenceMs} ms at most in the ${callTimeoutMs / 1000} s after it; ` +
    `creates begun within ${callTimeoutMs / 1000} s of it: ${around.length}, p99 ${quantileMs(around, 0.99)} ms, the longest ${quantileMs(around, 1)} ms`;
  return { note };
}

function retriesNote(load: LoadStats) {
  return `the load's client retries a failed attempt (any code) with the same idempotency key after 250 ms, each attempt with a ${callTimeoutMs / 1000} s deadline; ${load.failed} of ${load.sent} creates failed for good`;
}
