import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { InvoiceEventSchema, type InvoiceEvent } from "@invoicer/sdk";
import type { Logger } from "@invoicer/platform/logger";
import type { Sql } from "postgres";
import { outboxChannel } from "./invoice-store.ts";

/** Events a watcher may fall behind by before its stream is ended; it can reconnect and re-list. */
const maxQueuedEvents = 1_000;

export interface InvoiceWatch {
  /**
   * The tenant's committed invoice events from now on, until the signal aborts. `undefined` is a
   * keep-alive: one comes first, once the subscription is live, then one every `keepAliveMs` of silence.
   */
  subscribe(tenantId: string, signal: AbortSignal): AsyncIterable<InvoiceEvent | undefined>;
  /** Open subscriptions in this process. */
  watching(): number;
  /** Resolves once notifications are being received. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

interface Watcher {
  queue: InvoiceEvent[];
  wake?: () => void;
  overflowed: boolean;
}

/**
 * Fans committed outbox events out to the open WatchInvoices streams of this server process.
 * Every replica LISTENs, so a watcher sees changes made through any replica.
 */
export function createInvoiceWatch(sql: Sql, log: Logger, keepAliveMs = 15_000): InvoiceWatch {
  const watchers = new Map<string, Set<Watcher>>();
  let delivering = Promise.resolve();

  const deliver = async (payload: string) => {
    const [tenantId, eventId] = payload.split("/");
    const audience = watchers.get(tenantId ?? "");
    if (!audience || !eventId) return;
    const [row] = await sql<{ payload: Buffer }[]>`select payload from outbox where id = ${eventId}`;
    if (!row) return;
    const event = fromBinary(InvoiceEventSchema, row.payload);
    for (const w of audience) {
      if (w.queue.length >= maxQueuedEvents) w.overflowed = true;
      else w.queue.push(event);
      w.wake?.();
    }
  };
  // Chained so that watchers get events in notification (commit) order.
  const onNotify = (payload: string) => {
    delivering = delivering.then(() => deliver(payload)).catch((err: unknown) => log.warn({ err }, "watch delivery failed"));
  };
  const listening = sql.listen(outboxChannel, onNotify);

  return {
    ready: listening.then(() => undefined),
    watching: () => [...watchers.values()].reduce((n, set) => n + set.size, 0),
    async *subscribe(tenantId, signal) {
      const watcher: Watcher = { queue: [], overflowed: false };
      const audience = watchers.get(tenantId) ?? new Set();
      watchers.set(tenantId, audience.add(watcher));
      const onAbort = () => watcher.wake?.();
      signal.addEventListener("abort", onAbort);
      try {
        yield undefined;
        while (!signal.aborted) {
          if (watcher.overflowed) throw new ConnectError("watcher fell too far behind; reconnect", Code.ResourceExhausted);
          const event = watcher.queue.shift();
          if (event) {
            yield event;
            continue;
          }
          let timer: NodeJS.Timeout | undefined;
          const quiet = await new Promise<boolean>((resolve) => {
            watcher.wake = () => resolve(false);
            timer = setTimeout(() => resolve(true), keepAliveMs);
          });
          clearTimeout(timer);
          if (quiet && !signal.aborted) yield undefined;
        }
      } finally {
        signal.removeEventListener("abort", onAbort);
        audience.delete(watcher);
        if (audience.size === 0) watchers.delete(tenantId);
      }
    },
    async stop() {
      await (await listening).unlisten();
      await delivering;
    },
  };
}
