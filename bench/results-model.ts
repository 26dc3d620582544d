// The shape of bench/results/latest.json, and the targets the run is judged against.
import type { ConsumerThroughput, EventLatency } from "./events.ts";

export type Method = "CreateInvoice" | "GetInvoice";

export interface ThroughputCell {
  method: Method;
  /** "spread": worker w uses tenant w (no two workers share a counter row); "one-tenant": every worker the same tenant. */
  tenancy: "spread" | "one-tenant";
  target: string;
  label: string;
  concurrency: number;
  requests: number;
  errors: number;
  firstError?: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
  /** CPU time each process spent in the window, divided by the calls completed in it. */
  cpuMsPerRequest: Record<string, number>;
  /** Share of the machine's CPU used during the window by processes outside the bench (other people's work): noise. */
  othersCpuPercent: number;
}

/** A throughput ratio measured more than once: from the grid, then in rounds of the two cells back to back. */
export interface PairedRatio {
  name: string;
  method: Method;
  over: string;
  under: string;
  concurrency: number;
  ratios: number[];
  median: number;
}

export interface ProcessFigures {
  name: string;
  startupMs?: number;
  idleMb?: number;
  /** Peak memory per load phase: RSS for the Node services and the broker, summed PSS for PostgreSQL. */
  peakMb: Record<string, number>;
}

export interface Ratio {
  name: string;
  value: number;
  target: string;
  pass: boolean;
  detail: string;
}

export interface BenchResults {
  meta: {
    startedAt: string;
    totalMs: number;
    commit: string;
    dirty: boolean;
    node: string;
    cpus: number;
    cpuModel: string;
    platform: string;
    loadAverageAtStart: number[];
    managed: boolean;
    settings: Record<string, unknown>;
  };
  throughput: ThroughputCell[];
  paired: PairedRatio[];
  events: EventLatency[];
  consumers: ConsumerThroughput[];
  processes: ProcessFigures[];
  ratios: Ratio[];
  notes: string[];
}

export const ratioConcurrency = 32;
export const eventTargetRate = 100;

const cell = (r: BenchResults, method: Method, target: string, concurrency: number) =>
  r.throughput.find((c) => c.method === method && c.target === target && c.concurrency === concurrency && c.tenancy === "spread");

/** The concurrency the ratios are taken at: 32, or the nearest level measured. */
export function comparedConcurrency(r: BenchResults): number | undefined {
  const levels = [...new Set(r.throughput.map((c) => c.concurrency))];
  return levels.sort((a, b) => Math.abs(a - ratioConcurrency) - Math.abs(b - ratioConcurrency))[0];
}

/** The four targets of issue 7, PASS or MISS; a figure that was not measured is a MISS with NaN. */
export function judge(r: BenchResults): Ratio[] {
  const c = comparedConcurrency(r) ?? ratioConcurrency;
  const ratio = (method: Method, over: string, under: string) => {
    const a = cell(r, method, over, c);
    const b = cell(r, method, under, c);
    return a && b && b.rps > 0 ? a.rps / b.rps : NaN;
  };
  const pairedRatio = (method: Method) => r.paired?.find((p) => p.method === method && p.concurrency === c);
  const getPaired = pairedRatio("GetInvoice");
  const createPaired = pairedRatio("CreateInvoice");
  const getRatio = getPaired?.median ?? ratio("GetInvoice", "gateway-connect-binary", "server-connect-binary");
  const createRatio = createPaired?.median ?? ratio("CreateInvoice", "gateway-connect-binary", "floor");
  const rounds = (p: PairedRatio | undefined) =>
    p ? `; median of ${p.ratios.length} measurements: ${p.ratios.map((x) => x.toFixed(2)).join(", ")}` : "";
  const rendering = r.events.filter((e) => e.consumers > 0);
  const events = rendering.find((e) => e.rate === eventTargetRate) ?? rendering[rendering.length - 1];
  const commitP99 = events?.commitToReceivedMs.p99 ?? NaN;
  const readyP99 = events?.createToReadyMs.p99 ?? NaN;
  const complete = (e: EventLatency | undefined, count: number) =>
    e && count < e.sent - e.failed ? `; only ${count} of ${e.sent - e.failed} arrived in time` : "";
  return [
    {
      name: "GetInvoice throughput, gateway / direct",
      value: getRatio,
      target: ">= 0.7",
      pass: getRatio >= 0.7,
      detail: `Connect binary at ${c} concurrent calls, gateway vs server${rounds(getPaired)}`,
    },
    {
      name: "CreateInvoice throughput, gateway / SQL floor",
      value: createRatio,
      target: ">= 0.5",
      pass: createRatio >= 0.5,
      detail: `Connect binary through the gateway vs the same statements through postgres.js, ${c} concurrent calls${rounds(createPaired)}`,
    },
    {
      name: `commit -> consumer received, p99 ms`,
      value: commitP99,
      target: "< 50",
      pass: commitP99 < 50 && events !== undefined && events.received === events.sent - events.failed,
      detail: `at ${events?.rate ?? "?"} creates/s with the consumers rendering, from the event's occur_time${complete(events, events?.received ?? 0)}`,
    },
    {
      name: `create -> document READY, p99 ms`,
      value: readyP99,
      target: "< 500",
      pass: readyP99 < 500 && events !== undefined && events.ready === events.sent - events.failed,
      detail: `at ${events?.rate ?? "?"} creates/s, WatchInvoices documentReady minus create start${complete(events, events?.ready ?? 0)}`,
    },
  ];
}

/** Informative ratios and figures printed beside the four targets. */
export function otherFigures(r: BenchResults): { name: string; value: number }[] {
  const c = comparedConcurrency(r) ?? ratioConcurrency;
  const out: { name: string; value: number }[] = [];
  const add = (name: string, method: Method, over: string, under: string) => {
    const a = cell(r, method, over, c);
    const b = cell(r, method, under, c);
    if (a && b && b.rps > 0) out.push({ name: `${name} (c=${c})`, value: a.rps / b.rps });
  };
  add("GetInvoice gateway gRPC / server gRPC", "GetInvoice", "gateway-grpc", "server-grpc");
  add("GetInvoice gateway Connect JSON / server Connect binary", "GetInvoice", "gateway-connect-json", "server-connect-binary");
  add("GetInvoice gateway gRPC-web / server Connect binary", "GetInvoice", "gateway-grpc-web", "server-connect-binary");
  add("GetInvoice server Connect binary / SQL floor (bare select)", "GetInvoice", "server-connect-binary", "floor");
  add("CreateInvoice server Connect binary / SQL floor", "CreateInvoice", "server-connect-binary", "floor");
  add("CreateInvoice gateway Connect binary / server Connect binary", "CreateInvoice", "gateway-connect-binary", "server-connect-binary");
  add("CreateInvoice gateway gRPC / SQL floor", "CreateInvoice", "gateway-grpc", "floor");
  // CPU per call is far less disturbed by other work on the machine than throughput is.
  const byCpu = (name: string, method: Method, over: string, under: string) => {
    // Only when the bench read the services' CPU (it started them), not just its own.
    const total = (x: ThroughputCell | undefined) =>
      x && "server" in x.cpuMsPerRequest ? Object.values(x.cpuMsPerRequest).reduce((a, b) => a + b, 0) : NaN;
    const ratio = total(cell(r, method, under, c)) / total(cell(r, method, over, c));
    if (Number.isFinite(ratio)) out.push({ name: `${name}, by total CPU per call (c=${c})`, value: ratio });
  };
  byCpu("GetInvoice gateway / direct (Connect binary)", "GetInvoice", "gateway-connect-binary", "server-connect-binary");
  byCpu("CreateInvoice gateway Connect binary / SQL floor", "CreateInvoice", "gateway-connect-binary", "floor");
  for (const e of r.events.filter((x) => x.consumers === 0)) {
    out.push({ name: `commit -> consumer p99 ms at ${e.rate} creates/s with the consumers stopped`, value: e.commitToReceivedMs.p99 });
  }
  return out;
}
