import { MessageChannel } from "node:worker_threads";
import { toBinary } from "@bufbuild/protobuf";
import { InvoiceSchema, type Invoice } from "@invoicer/sdk";
import { Piscina } from "piscina";
import type { RenderedDocument } from "./index.ts";
import type { RenderTask } from "./worker.ts";

/** A render ran longer than the pool's time bound; its worker thread was stopped. */
export class RenderTimeoutError extends Error {
  override name = "RenderTimeoutError";
}

/** Renders invoices' documents on worker threads, so that a slow render never blocks the caller's event loop. */
export interface RenderPool {
  /** Renders the invoice's PDF and DOCX, or rejects with RenderTimeoutError when that takes longer than the bound. */
  render(invoice: Invoice): Promise<RenderedDocument[]>;
  /** Stops every worker; renders in progress reject. */
  close(): Promise<void>;
}

export interface RenderPoolOptions {
  /** Worker threads, so renders at a time. */
  workers: number;
  /** The longest a render may take, from when a worker starts it. */
  timeoutMs: number;
  /** The worker module; tests give one of their own. */
  workerFile?: string | URL;
}

/**
 * Starts a pool of worker threads that render invoices' documents (piscina). A render that takes longer
 * than `timeoutMs` is aborted, which terminates its worker; piscina starts another one in its place.
 * Workers load TypeScript as this thread does: Node's own type stripping in the service, tsx's
 * loader (inherited) in the tests; the documents come out byte for byte the same either way, which
 * test/unit/render.test.ts checks.
 */
export function createRenderPool({
  workers,
  timeoutMs,
  workerFile = new URL("./worker.ts", import.meta.url),
}: RenderPoolOptions): RenderPool {
  const pool = new Piscina<RenderTask, RenderedDocument[]>({
    filename: workerFile.toString(),
    minThreads: workers,
    maxThreads: workers,
    // Idle workers keep their event loop running instead of blocking in Atomics.wait, so what the
    // renderers prepare asynchronously when loaded (the DOCX template) is done while a worker waits.
    atomics: "disabled",
  });
  return {
    render: (invoice) => renderWithin(pool, invoice, timeoutMs),
    close: () => pool.destroy(),
  };
}

/** Runs one render, aborting it `timeoutMs` after the worker reports that it started. */
async function renderWithin(
  pool: Piscina<RenderTask, RenderedDocument[]>,
  invoice: Invoice,
  timeoutMs: number,
): Promise<RenderedDocument[]> {
  const { port1: started, port2: startedInWorker } = new MessageChannel();
  const abort = new AbortController();
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  // The result comes on another port, so it may arrive before "started" does.
  started.once("message", () => {
    if (!settled) timer = setTimeout(() => abort.abort(), timeoutMs);
  });
  try {
    const task = { invoice: toBinary(InvoiceSchema, invoice), started: startedInWorker };
    return await pool.run(task, { transferList: [startedInWorker], signal: abort.signal });
  } catch (err) {
    if (abort.signal.aborted)
      throw new RenderTimeoutError(`rendering invoice ${invoice.id} took longer than ${timeoutMs} ms`, { cause: err });
    throw err;
  } finally {
    settled = true;
    clearTimeout(timer);
    started.close();
  }
}
