import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { InvoiceEventSchema, type InvoiceEvent } from "@invoicer/sdk";
import { ErrorReason, rpcError, unknownApiKey } from "@invoicer/platform/error-details";
import type { Logger } from "@invoicer/platform/logger";
import { and, eq, isNull, sql as expr } from "drizzle-orm";
import type { Sql } from "postgres";
import { drizzleOn, type Db } from "../db/client.ts";
import { sqlNames } from "../db/raw-sql.ts";
import { apiKeys, outbox } from "../db/schema.ts";
import type { OutboxNotifications } from "../outbox/notifications.ts";

/** Events a watcher may fall behind by before its stream is ended; it can reconnect and re-list. */
const maxQueuedEvents = 1_000;
/** Events read from the outbox in one query. */
const deliveryBatch = 500;

export interface WatchOptions {
  /** A keep-alive is sent after this much silence. */
  keepAliveMs?: number;
  /** Open streams one tenant may have in this process; more are ResourceExhausted. */
  maxPerTenant?: number;
  /** Notifications waiting to be read from the outbox; past this, the streams of the tenant with most of them end. */
  maxPendingNotifications?: number;
}

export interface InvoiceWatch {
  /**
   * The tenant's committed invoice events from now on, until the signal aborts. `undefined` is a
   * keep-alive: one comes first, once the subscription is live, then one every `keepAliveMs` of silence.
   * The stream ends with Unavailable when events may have been missed (the database connection
   * dropped, or the tenant's notifications piled up past what may wait), so a client never believes
   * it is live while it is not: it reconnects and re-lists. With the caller's `apiKeyHash`, the stream
   * ends with Unauthenticated as soon as that key is revoked (or at once, when it already is).
   */
  subscribe(tenantId: string, signal: AbortSignal, apiKeyHash?: string): AsyncIterable<InvoiceEvent | undefined>;
  /** Open subscriptions in this process. */
  watching(): number;
  /** Resolves once notifications are being received. */
  ready: Promise<void>;
  /** Ends every open stream (as a deploy does), leaving new subscriptions refused. */
  close(): void;
  stop(): Promise<void>;
}

/** The open streams of this process, by tenant, and whether new ones are refused (the server is closing). */
interface OpenStreams {
  watchers: Map<string, Set<Watcher>>;
  closed: boolean;
}

interface StreamSettings {
  /** Whether the key of this hash exists and is not revoked. */
  isActiveKey: (apiKeyHash: string) => Promise<boolean>;
  keepAliveMs: number;
  maxPerTenant: number;
}

interface Watcher {
  /** The hash of the API key the stream was opened with, when the gateway said. */
  apiKeyHash?: string;
  queue: InvoiceEvent[];
  wake?: () => void;
  /** Why the stream must end, when it must. */
  ended?: ConnectError;
}

/**
 * Fans committed outbox events out to the open WatchInvoices streams of this server process.
 * Every replica LISTENs, so a watcher sees changes made through any replica. Notifications are
 * read from the outbox in batches, in commit order, and only for tenants someone watches.
 */
export function createInvoiceWatch(sql: Sql, notifications: OutboxNotifications, log: Logger, options: WatchOptions = {}): InvoiceWatch {
  const { keepAliveMs = 15_000, maxPerTenant = 100, maxPendingNotifications = 10_000 } = options;
  const open: OpenStreams = { watchers: new Map(), closed: false };
  const { watchers } = open;
  const settings: StreamSettings = { isActiveKey: activeKeyCheck(drizzleOn(sql)), keepAliveMs, maxPerTenant };
  const pending = pendingNotifications();
  let draining: Promise<void> | undefined;

  const endAll = (why: ConnectError) => {
    pending.clear();
    for (const audience of watchers.values()) end(audience, why);
  };
  const missed = () => endAll(interrupted());
  // The tenant with the most notifications waiting loses its streams, so one tenant's burst does not end every tenant's.
  const shed = () => {
    const tenantId = pending.busiest();
    pending.drop(tenantId);
    end(watchers.get(tenantId), interrupted());
    return tenantId;
  };

  const unsubscribe = notifications.subscribe({
    onNotify(payload) {
      const [tenantId = "", eventId = ""] = payload.split("/");
      if (!watchers.has(tenantId) || !/^[0-9a-f-]{36}$/.test(eventId)) return;
      if (pending.size() >= maxPendingNotifications && shed() === tenantId) return;
      pending.add({ tenantId, eventId });
      draining ??= deliverPending(sql, pending, watchers)
        .catch((err: unknown) => {
          log.warn({ err }, "watch delivery failed; ending the streams that may have missed events");
          missed();
        })
        .finally(() => (draining = undefined));
    },
    onGap: missed,
    onKeyRevoked(keyHash) {
      for (const audience of watchers.values()) for (const w of audience) if (w.apiKeyHash === keyHash) revoke(w);
    },
  });

  return {
    ready: notifications.ready,
    watching: () => [...watchers.values()].reduce((n, set) => n + set.size, 0),
    subscribe: (tenantId, signal, apiKeyHash) => stream(open, settings, tenantId, signal, apiKeyHash),
    close() {
      open.closed = true;
      endAll(rpcError("the server is shutting down; reconnect", Code.Unavailable, ErrorReason.SHUTTING_DOWN));
    },
    async stop() {
      unsubscribe();
      await draining;
    },
  };
}

/** One WatchInvoices stream: registered among its tenant's watchers until it ends. */
async function* stream(
  open: OpenStreams,
  { isActiveKey, keepAliveMs, maxPerTenant }: StreamSettings,
  tenantId: string,
  signal: AbortSignal,
  apiKeyHash?: string,
): AsyncIterable<InvoiceEvent | undefined> {
  if (open.closed) throw rpcError("the server is shutting down; reconnect", Code.Unavailable, ErrorReason.SHUTTING_DOWN);
  const audience = open.watchers.get(tenantId) ?? new Set<Watcher>();
  if (audience.size >= maxPerTenant) {
    throw rpcError(`at most ${maxPerTenant} open WatchInvoices streams per tenant`, Code.ResourceExhausted, ErrorReason.TOO_MANY_WATCHES);
  }
  const watcher: Watcher = { apiKeyHash, queue: [] };
  open.watchers.set(tenantId, audience.add(watcher));
  const onAbort = () => watcher.wake?.();
  signal.addEventListener("abort", onAbort);
  try {
    // Checked once the watcher is registered: a revocation after this check reaches it as a notification.
    if (apiKeyHash && !(await isActiveKey(apiKeyHash))) throw unknownApiKey();
    yield undefined;
    while (!signal.aborted) {
      const event = watcher.queue.shift();
      if (event) {
        yield event;
        continue;
      }
      if (watcher.ended) throw watcher.ended;
      if ((await quietFor(watcher, keepAliveMs)) && !signal.aborted) yield undefined;
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    audience.delete(watcher);
    if (audience.size === 0) open.watchers.delete(tenantId);
  }
}

/** Waits until the watcher is woken (false) or `ms` pass in silence (true). */
async function quietFor(watcher: Watcher, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const quiet = await new Promise<boolean>((resolve) => {
    watcher.wake = () => resolve(false);
    timer = setTimeout(() => resolve(true), ms);
  });
  clearTimeout(timer);
  return quiet;
}

/** Reads the events of the notifications waiting, a batch at a time, and queues each for its tenant's watchers. */
async function deliverPending(sql: Sql, pending: PendingNotifications, watchers: Map<string, Set<Watcher>>): Promise<void> {
  while (pending.size() > 0) {
    const batch = pending.take(deliveryBatch);
    const byId = await eventPayloads(
      sql,
      batch.map((n) => n.eventId),
    );
    for (const { tenantId, eventId } of batch) {
      const payload = byId.get(eventId);
      if (payload) deliver(watchers.get(tenantId), fromBinary(InvoiceEventSchema, payload));
    }
  }
}

const o = sqlNames(outbox);
/** The payloads of outbox rows by id ($1, an array): prepared, as it runs for every batch of notifications. */
const eventPayloadsSql = `select ${o.id} as id, ${o.payload} as payload from ${o.$table} where ${o.id} = any($1::uuid[])`;

/** The payloads of the outbox rows with these ids, by id. */
async function eventPayloads(sql: Sql, ids: string[]): Promise<Map<string, Buffer>> {
  const rows = await sql.unsafe<{ id: string; payload: Buffer }[]>(eventPayloadsSql, [ids], { prepare: true });
  return new Map(rows.map((r) => [r.id, r.payload]));
}

/** The key check of every stream opened with a key, prepared once: a tenant may open its streams by the hundred. */
function activeKeyCheck(db: Db): (apiKeyHash: string) => Promise<boolean> {
  const statement = db
    .select({ one: expr`1` })
    .from(apiKeys)
    .where(and(eq(apiKeys.keyHash, expr.placeholder("apiKeyHash")), isNull(apiKeys.revokedAt)))
    .prepare("watch_active_key");
  return async (apiKeyHash) => (await statement.execute({ apiKeyHash })).length > 0;
}

const interrupted = () =>
  rpcError("live updates were interrupted; reconnect and list again", Code.Unavailable, ErrorReason.WATCH_INTERRUPTED);

/** Ends a revoked key's stream with what a call with it gets, and drops what is queued: nothing reaches it after revocation. */
function revoke(w: Watcher) {
  w.queue.length = 0;
  w.ended = unknownApiKey();
  w.wake?.();
}

/** Ends each of the watchers (once they have had what is already queued for them). */
function end(audience: Iterable<Watcher> | undefined, why: ConnectError) {
  for (const w of audience ?? []) {
    w.ended ??= why;
    w.wake?.();
  }
}

interface Notification {
  tenantId: string;
  eventId: string;
}

type PendingNotifications = ReturnType<typeof pendingNotifications>;

/** Notifications waiting to be read from the outbox, in commit order, counted per tenant. */
function pendingNotifications() {
  let queue: Notification[] = [];
  const perTenant = new Map<string, number>();
  const count = (tenantId: string, by: number) => {
    const n = (perTenant.get(tenantId) ?? 0) + by;
    if (n > 0) perTenant.set(tenantId, n);
    else perTenant.delete(tenantId);
  };
  return {
    size: () => queue.length,
    add(n: Notification) {
      queue.push(n);
      count(n.tenantId, 1);
    },
    take(max: number) {
      const batch = queue.splice(0, max);
      for (const n of batch) count(n.tenantId, -1);
      return batch;
    },
    /** The tenant with the most notifications waiting. */
    busiest: () => [...perTenant].reduce((top, entry) => (entry[1] > top[1] ? entry : top), ["", 0])[0],
    drop(tenantId: string) {
      queue = queue.filter((n) => n.tenantId !== tenantId);
      perTenant.delete(tenantId);
    },
    clear() {
      queue = [];
      perTenant.clear();
    },
  };
}

/** Queues an event for each of the tenant's watchers still open; one too far behind is ended. */
function deliver(audience: Set<Watcher> | undefined, event: InvoiceEvent) {
  for (const w of audience ?? []) {
    if (w.ended) continue;
    if (w.queue.length >= maxQueuedEvents)
      w.ended ??= rpcError("watcher fell too far behind; reconnect", Code.ResourceExhausted, ErrorReason.WATCH_TOO_SLOW);
    else w.queue.push(event);
    w.wake?.();
  }
}
