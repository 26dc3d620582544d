import { Code, ConnectError } from "@connectrpc/connect";
import type { InvoiceEvent } from "@invoicer/sdk";
import type { InvoicerClient } from "./invoicer-client.ts";

export type LiveState = "connecting" | "live" | "reconnecting" | "stopped";

interface LiveHandlers {
  state(state: LiveState, reason?: string): void;
  /** The stream is live (again): everything committed from now on arrives, earlier changes may have been missed. */
  live(): void;
  event(event: InvoiceEvent): void;
}

/**
 * Follows WatchInvoices until the signal aborts (then it reports nothing more), reconnecting with
 * doubling backoff when the stream breaks; an API key the gateway refuses stops it.
 */
export async function followInvoiceEvents(
  client: InvoicerClient,
  signal: AbortSignal,
  on: LiveHandlers,
  describe: (err: unknown) => string,
) {
  let backoffMs = 500;
  while (!signal.aborted) {
    on.state("connecting");
    let reason = "the stream ended";
    try {
      let live = false;
      for await (const { event } of client.watchInvoices({}, { signal })) {
        if (event) on.event(event);
        // The first message has no event (the live marker); later empty ones are keep-alives.
        else if (!live) {
          live = true;
          backoffMs = 500;
          on.state("live");
          on.live();
        }
      }
    } catch (err) {
      reason = describe(err);
      if (!signal.aborted && ConnectError.from(err).code === Code.Unauthenticated) return on.state("stopped", reason);
    }
    if (signal.aborted) break;
    on.state("reconnecting", reason);
    await pause(backoffMs, signal);
    backoffMs = Math.min(backoffMs * 2, 30_000);
  }
}

/** Resolves after `ms`, or at once when the signal aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resume) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resume();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}
