// Test helpers for events: WatchInvoices streams and waiting on conditions; topic readers and
// writers come from the dev stack.
import type { Client } from "@connectrpc/connect";
import type { InvoiceEvent, InvoiceService } from "@invoicer/sdk";
import { collector, type Collected } from "@invoicer/devstack/topics";

export {
  caughtUp,
  collector,
  committedOffset,
  groupState,
  produceRaw,
  readTopic,
  type Collected,
  type TopicMessage,
  type TopicReader,
} from "@invoicer/devstack/topics";

/** Awaits a condition that has no event to wait on, checking it every `everyMs`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 60_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Opens WatchInvoices and collects its events in the background; resolves once the watch is live. */
export async function watchInvoices(
  client: Client<typeof InvoiceService>,
): Promise<Collected<InvoiceEvent> & { close(): void; ended: Promise<void> }> {
  const abort = new AbortController();
  const events = collector<InvoiceEvent>();
  const stream = client.watchInvoices({}, { signal: abort.signal })[Symbol.asyncIterator]();
  const first = await stream.next();
  if (first.done || first.value.event) throw new Error("WatchInvoices must open with a live marker");
  const ended = (async () => {
    for (let r = await stream.next(); !r.done; r = await stream.next()) if (r.value.event) events.push(r.value.event);
  })().catch((err: unknown) => {
    if (!abort.signal.aborted) throw err;
  });
  return { ...events, ended, close: () => abort.abort() };
}
