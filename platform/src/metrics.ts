// Prometheus metrics: one registry per service (services sharing a process keep theirs apart).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { Code } from "@connectrpc/connect";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

export { Counter, Gauge, Histogram, Registry };

/** A registry with the process metrics (CPU, memory, event loop lag, GC) of this service. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Answers a Prometheus scrape with the registry's text exposition. */
export async function sendMetrics(registry: Registry, res: ServerResponse): Promise<void> {
  try {
    const body = await registry.metrics();
    res.writeHead(200, { "content-type": registry.contentType }).end(body);
  } catch {
    res.writeHead(500, { "content-type": "text/plain" }).end("metrics unavailable\n");
  }
}

export const isMetricsScrape = (req: IncomingMessage) => req.method === "GET" && req.url?.split("?", 1)[0] === "/metrics";

/** An HTTP server answering GET /metrics and /healthz and nothing else: a scraper let in to it reaches no RPC. */
export function createMetricsServer(registry: Registry): Server {
  return createServer((req, res) => {
    if (isMetricsScrape(req)) return void sendMetrics(registry, res);
    // Liveness: answered by the event loop alone, so a hung loop fails it while a database outage does not.
    if (req.url === "/healthz") return void res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  });
}

/** The Connect code name as it appears on the wire ("invalid_argument"), "ok" for success. */
export function codeName(code: Code | undefined): string {
  if (code === undefined) return "ok";
  return Code[code]!.replace(/[A-Z]/g, (c, i: number) => (i === 0 ? c.toLowerCase() : `_${c.toLowerCase()}`));
}

/** Response header in which the server names a failed call's code, for proxies that do not read bodies. */
export const rpcCodeHeader = "invoicer-rpc-code";

/** Latency buckets (seconds) every request histogram uses, so dashboards can compare them. */
export const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type RpcMetrics = Histogram<"rpc_service" | "rpc_method" | "rpc_code">;

/** Call count and latency of every RPC this service answered, by method and Connect code. */
export function rpcServerMetrics(registry: Registry): RpcMetrics {
  return new Histogram({
    name: "rpc_server_duration_seconds",
    help: "RPCs answered, by service, method and Connect code; latency from request to the end of the response.",
    labelNames: ["rpc_service", "rpc_method", "rpc_code"],
    buckets: latencyBuckets,
    registers: [registry],
  });
}
