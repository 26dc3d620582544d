// A render pool's worker thread (see pool.ts): decodes an invoice, renders its documents and hands
// their bytes back without copying them.
import type { MessagePort } from "node:worker_threads";
import { fromBinary } from "@bufbuild/protobuf";
import { InvoiceSchema } from "@invoicer/sdk";
import { move, transferableSymbol, valueSymbol } from "piscina";
import { renderInvoiceDocuments, type RenderedDocument } from "./index.ts";

/** What the pool sends a worker: the invoice in protobuf binary, and a port to say the render started. */
export interface RenderTask {
  invoice: Uint8Array;
  started: MessagePort;
}

/** Renders one invoice's documents; their buffers are transferred to the calling thread, not copied. */
export default async function renderTask({ invoice, started }: RenderTask) {
  // The pool's time bound runs from here: waiting for a free worker is not the render's time.
  started.postMessage(null);
  started.close();
  const documents = (await renderInvoiceDocuments(fromBinary(InvoiceSchema, invoice))).map((d): RenderedDocument => ({
    format: d.format,
    content: ownBuffer(d.content),
  }));
  return move({ [transferableSymbol]: documents.map((d) => d.content.buffer), [valueSymbol]: documents });
}

// Transferring a view's buffer hands over all of it: a view into a shared one (Node's pool of small
// Buffers) gets a buffer of its own first.
const ownBuffer = (bytes: Uint8Array) =>
  bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
