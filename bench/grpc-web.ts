// GetInvoice over gRPC-web (HTTP/1.1) in a closed loop: ghz speaks gRPC only, so this small
// Node client of the SDK loads the gateway and Envoy alike.
import { Agent } from "node:http";
import { createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import { InvoiceService } from "@invoicer/sdk";
import type { LoadRun } from "./ghz.ts";
import { percentile } from "./results.ts";

/** `concurrency` workers calling GetInvoice back to back over `ids` for `seconds`. */
export async function grpcWebLoop(
  baseUrl: string,
  headers: Record<string, string>,
  ids: string[],
  load: { concurrency: number; seconds: number },
): Promise<LoadRun> {
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const client = createClient(InvoiceService, createGrpcWebTransport({ baseUrl, httpVersion: "1.1", nodeOptions: { agent } }));
  const latencies: number[] = [];
  let [errors, next] = [0, 0];
  let firstError: string | undefined;
  const started = performance.now();
  const endAt = started + load.seconds * 1000;
  const worker = async () => {
    while (performance.now() < endAt) {
      const at = performance.now();
      try {
        await client.getInvoice({ id: ids[next++ % ids.length] }, { headers, timeoutMs: 10_000 });
        latencies.push(performance.now() - at);
      } catch (err) {
        errors++;
        firstError ??= String(err);
        await new Promise((r) => setTimeout(r, 10)); // a failing target must not become a busy loop
      }
    }
  };
  await Promise.all(Array.from({ length: load.concurrency }, worker));
  const elapsedS = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    calls: latencies.length,
    errors,
    firstError,
    callsPerSecond: latencies.length / elapsedS,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  };
}
