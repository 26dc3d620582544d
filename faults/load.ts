// A steady stream of CreateInvoice calls straight to the server replicas, as the gateway makes
// them. A failed call is retried with the same idempotency key on the next replica, as a
// careful client would; every loop here is bounded by attempts or a deadline.
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { InvoiceService, type CreateInvoiceRequest } from "@invoicer/sdk";
import { internalTokenHeader, tenantHeader } from "@invoicer/platform/internal-auth";
import { paced } from "../bench/load.ts";

export interface Acked {
  key: string;
  tenantId: string;
  id: string;
  number: bigint;
}

export interface LoadStats {
  sent: number;
  succeeded: number;
  failed: number;
  retries: number;
  acked: Acked[];
}

const maxTries = 60;
const callTimeoutMs = 5_000;
const retryPauseMs = 250;

export function invoiceClients(serverUrls: string[], internalToken: string): Client<typeof InvoiceService>[] {
  return serverUrls.map((baseUrl) =>
    createClient(InvoiceService, createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true, interceptors: [
      (next) => (req) => (req.header.set(internalTokenHeader, internalToken), next(req)),
    ] })),
  );
}

/** Sends `rate` creates a second for `durationMs`, spread over tenants and replicas; resolves when every call has ended. */
export async function steadyCreates(options: {
  clients: Client<typeof InvoiceService>[];
  tenantIds: string[];
  rate: number;
  durationMs: number;
  request: (key: string, i: number) => CreateInvoiceRequest;
}): Promise<LoadStats> {
  const stats: LoadStats = { sent: 0, succeeded: 0, failed: 0, retries: 0, acked: [] };
  const started = Date.now();
  const { sent } = await paced(options.rate, options.durationMs, (i) => {
    const tenantId = options.tenantIds[i % options.tenantIds.length]!;
    return createWithRetries(options.clients, i, tenantId, options.request(`fault-${started}-${i}`, i), stats);
  });
  stats.sent = sent;
  return stats;
}

async function createWithRetries(clients: Client<typeof InvoiceService>[], i: number, tenantId: string, request: CreateInvoiceRequest, stats: LoadStats) {
  for (let attempt = 0; attempt < maxTries; attempt++) {
    const client = clients[(i + attempt) % clients.length]!;
    try {
      const { invoice } = await client.createInvoice(request, { headers: { [tenantHeader]: tenantId }, timeoutMs: callTimeoutMs });
      stats.succeeded++;
      stats.acked.push({ key: request.idempotencyKey, tenantId, id: invoice!.id, number: invoice!.number });
      return;
    } catch {
      stats.retries++;
      await new Promise((r) => setTimeout(r, retryPauseMs));
    }
  }
  stats.failed++;
}
