import type { Logger } from "@invoicer/platform/logger";
import postgres from "postgres";
import { outboxChannel } from "./outbox-writer.ts";

/** The channel a revocation notifies with the revoked key's hash (`revokeApiKeys`), so open streams can end. */
export const revokedKeyChannel = "invoicer_api_key_revoked";

export interface NotificationListener {
  /** Each outbox notification's payload, in commit order. */
  onNotify(payload: string): void;
  /** The hash of a key just revoked. */
  onKeyRevoked?(keyHash: string): void;
  /** Notifications may have been missed: the listening connection dropped (it is being re-established). */
  onGap?(): void;
}

export interface OutboxNotifications {
  /** Adds a listener; returns its removal. */
  subscribe(listener: NotificationListener): () => void;
  /** Resolves once the first LISTEN is in place. */
  ready: Promise<void>;
  /** True while notifications are being received. */
  listening(): boolean;
  stop(): Promise<void>;
}

const maxRetryMs = 5_000;

/**
 * LISTENs on the outbox channel (and for revoked keys) over one connection of its own. When that connection drops,
 * every listener hears of the gap at once, and LISTEN is re-established with backoff for as long
 * as it takes (postgres.js's own `listen` tries again only once, and then goes silent for good).
 */
export function listenForOutbox(databaseUrl: string, log: Logger): OutboxNotifications {
  const listeners = new Set<NotificationListener>();
  let live = false;
  let stopped = false;
  let markReady: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const options = {
    max: 1,
    // The connection is kept for as long as it works: recycling it would only make gaps.
    idle_timeout: 0,
    max_lifetime: null,
    fetch_types: false,
    onnotice: () => {},
    connection: { application_name: "invoicer-outbox-listener" },
    // postgres.js hands NOTIFYs to this option (what its own `listen` uses); its types do not name it.
    onnotify: (channel: string, payload: string) => {
      for (const l of listeners) {
        if (channel === revokedKeyChannel) l.onKeyRevoked?.(payload);
        else l.onNotify(payload);
      }
    },
    onclose: () => {
      if (stopped || !live) return;
      live = false;
      log.warn("outbox notifications interrupted; listening again");
      for (const l of listeners) l.onGap?.();
      void listen();
    },
  };
  const sql = postgres(databaseUrl, options as postgres.Options<Record<string, never>>);
  const listen = async () => {
    for (let failures = 0; !stopped && !live; failures++) {
      try {
        await sql.unsafe(`listen "${outboxChannel}"`);
        await sql.unsafe(`listen "${revokedKeyChannel}"`);
        live = true;
        if (failures > 0) log.info({ failures }, "outbox notifications resumed");
        markReady();
      } catch (err) {
        if (failures === 0) log.warn({ err }, "cannot LISTEN for outbox notifications; retrying");
        await new Promise((r) => setTimeout(r, Math.min(maxRetryMs, 100 * 2 ** Math.min(failures, 10))));
      }
    }
  };
  void listen();
  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    ready,
    listening: () => live,
    async stop() {
      stopped = true;
      await sql.end({ timeout: 1 });
    },
  };
}
