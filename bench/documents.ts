// Targets 4 and 6: invoices created through the gateway at a steady rate (ghz --rps), rendered to
// PDF and DOCX by two consumers and attached, READY seen on a WatchInvoices stream; the services'
// peak memory meanwhile, and how many cores each used.
import { availableParallelism } from "node:os";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { InvoiceService } from "@invoicer/sdk";
import { documentedInvoiceTemplate, runGhz, type LoadRun } from "./ghz.ts";
import type { PeerTools } from "./peer-tools.ts";
import { fmt, percentile, table, target } from "./results.ts";
import type { Stack, Tenant } from "./stack.ts";
import type { PodMemory } from "./pod-limits.ts";
import { cpuWindow, peakRss } from "./usage.ts";

/** Target 4's rate; `--documents-rate` runs the section at another (a rate the machine sustains gives the CPU per invoice). */
const targetRate = 100;
const settleMs = 30_000;
const rssLimitMb = 150;

/** The tenant's invoices as a WatchInvoices stream tells of them: create time (from the invoice) and when READY was seen. */
async function watchDocuments(gatewayUrl: string, tenant: Tenant) {
  const client = createClient(InvoiceService, createConnectTransport({ baseUrl: gatewayUrl, httpVersion: "1.1" }));
  const abort = new AbortController();
  const headers = { authorization: `Bearer ${tenant.apiKey}` };
  const stream = client.watchInvoices({}, { headers, signal: abort.signal })[Symbol.asyncIterator]();
  const first = await stream.next();
  if (first.done || first.value.event) throw new Error("WatchInvoices did not open with its live marker");
  const created = new Map<string, number>();
  const ready = new Map<string, number>();
  let failure: string | undefined;
  let wake = () => {};
  const reading = (async () => {
    for (let r = await stream.next(); !r.done; r = await stream.next()) {
      const { event } = r.value;
      if (event?.kind.case !== "issued" && event?.kind.case !== "documentReady") continue;
      const seenAt = Date.now(); // the server's create_time comes from the same host clock
      const createTime = event.kind.value.invoice?.createTime;
      if (createTime) created.set(event.invoiceId, timestampMs(createTime));
      if (event.kind.case === "documentReady") ready.set(event.invoiceId, seenAt);
      wake();
    }
  })().catch((err: unknown) => void (abort.signal.aborted || (failure = String(err))));
  return {
    created,
    ready,
    failure: () => failure,
    /** Resolves true once `count` invoices are READY, false after `timeoutMs`. */
    allReady: (count: number, timeoutMs: number) =>
      new Promise<boolean>((done) => {
        const timer = setTimeout(() => done(false), timeoutMs);
        wake = () => void (ready.size >= count && (clearTimeout(timer), done(true)));
        wake();
      }),
    close: async () => (abort.abort(), await reading),
  };
}

type Watch = Awaited<ReturnType<typeof watchDocuments>>;
type Options = { tools: PeerTools; stack: Stack; seconds: number; warmupS: number; rate: number; say: (line: string) => void };

/** Runs the section: `warmupS` at the rate first (not judged), then `seconds` measured. */
export async function documentsSection(o: Options) {
  const tenant = await o.stack.tenant("documents");
  o.say("starting 2 consumers ...");
  await o.stack.startConsumers(2);
  const watch = await watchDocuments(o.stack.gatewayUrl, tenant);
  const rss = peakRss(() => Object.entries(o.stack.pids()).map(([name, pid]) => ({ name, pid })));
  try {
    const { rate } = o;
    o.say(`CreateInvoice via the gateway at ${rate}/s (ghz --rps): ${o.warmupS} s warm-up + ${o.seconds} s, READY on WatchInvoices ...`);
    const metadata = { authorization: `Bearer ${tenant.apiKey}` };
    const call = {
      method: "CreateInvoice" as const,
      target: new URL(o.stack.gatewayUrl).host,
      data: documentedInvoiceTemplate(),
      metadata,
    };
    const load = runGhz(o.tools.ghz, call, { concurrency: 50, seconds: o.warmupS + o.seconds, rps: rate });
    await new Promise((r) => setTimeout(r, o.warmupS * 1000)); // the warm-up is a span of time
    const start = Date.now();
    const endCpu = await cpuWindow({ ...o.stack.pids(), ...o.stack.infrastructurePids });
    const sent = await load;
    const [end, cpuMs] = [Date.now(), await endCpu()];
    o.say(`  ${sent.calls} created (${sent.errors} failed), ${watch.ready.size} READY so far; up to ${settleMs / 1000} s for the rest ...`);
    const settled = await watch.allReady(sent.calls, settleMs);
    const peaks = await rss.stop();
    return summarise(watch, { start, end }, { sent, settled, cpuMs, peaks, pods: o.stack.podMemory?.(), seconds: o.seconds, rate });
  } finally {
    await rss.stop();
    await watch.close();
  }
}

function summarise(
  watch: Watch,
  window: { start: number; end: number },
  m: {
    sent: LoadRun;
    settled: boolean;
    cpuMs: Record<string, number> & { machine: number };
    peaks: Record<string, number>;
    pods?: Record<string, PodMemory>;
    seconds: number;
    rate: number;
  },
) {
  const windowMs = window.end - window.start;
  const within = (at: number) => at >= window.start && at <= window.end;
  const readyAt = (id: string) => watch.ready.get(id) ?? Infinity;
  const latencies = [...watch.created].filter(([, at]) => within(at)).map(([id, at]) => readyAt(id) - at);
  latencies.sort((a, b) => a - b);
  const documented = [...watch.ready.values()].filter(within).length;
  const { machine, ...processes } = m.cpuMs;
  const named = Object.values(processes).reduce((a, b) => a + b, 0);
  const cpuMs: Record<string, number> = {
    ...processes,
    "the rest (ghz, the watcher, the OS)": machine - named,
    "all, the machine's busy time": machine,
  };
  const figures = {
    createdPerSecond: m.sent.callsPerSecond,
    createFailures: m.sent.errors,
    documentedPerSecond: (documented * 1000) / windowMs,
    createToReadyMs: { n: latencies.length, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) },
    backlogAtEnd: [...watch.created].filter(([id, at]) => at <= window.end && readyAt(id) > window.end).length,
    allReadyWithinSettle: m.settled,
    watchFailure: watch.failure(),
    cores: availableParallelism(),
    coresUsed: Object.fromEntries(Object.entries(cpuMs).map(([name, ms]) => [name, ms / windowMs])),
    cpuMsPerDocumented: Object.fromEntries(Object.entries(cpuMs).map(([name, ms]) => [name, ms / documented])),
    peakRssMb: m.peaks,
    podMemory: m.pods,
  };
  const services = Object.keys(m.peaks).sort();
  const atTargetRate = m.rate === targetRate;
  const targets = [
    ...(atTargetRate
      ? [
          target(
            `4. invoices fully documented per second over ${m.seconds} s`,
            figures.documentedPerSecond,
            ">=",
            targetRate,
            "/s",
            figures.watchFailure,
          ),
          target(`4. create -> READY p99 at ${targetRate}/s`, figures.createToReadyMs.p99, "<", 1000, "ms", figures.watchFailure),
        ]
      : []),
    ...services.map((s) => target(`6. peak RSS under that load, ${s}`, m.peaks[s]!, "<", rssLimitMb, "MB")),
  ];
  const { p50, p99, n } = figures.createToReadyMs;
  const allMs = figures.cpuMsPerDocumented["all, the machine's busy time"]!;
  const md = [
    `## Documents (targets 4 and 6)${atTargetRate ? "" : `, at ${m.rate} creates/s (--documents-rate)`}`,
    `ghz created ${fmt(figures.createdPerSecond)}/s (${figures.createFailures} failed); ${fmt(figures.documentedPerSecond)} invoices/s turned READY in the window; create -> READY p50 ${fmt(p50)} ms, p99 ${fmt(p99)} ms (${n} invoices created in the window); backlog at the end ${figures.backlogAtEnd}; all READY within ${settleMs / 1000} s after: ${m.settled ? "yes" : "no"}.`,
    `Every core (${figures.cores} here) is used by separate processes; each one's share over the window, its CPU per invoice documented in the window, and its peak RSS:`,
    table(
      [
        "process",
        "cores used",
        "CPU ms per documented invoice",
        "peak RSS MB",
        ...(m.pods ? ["cgroup peak since start / limit MiB", "OOM kills"] : []),
      ],
      Object.keys(cpuMs).map((s) => {
        const pod = m.pods?.[s];
        return [
          s,
          figures.coresUsed[s],
          figures.cpuMsPerDocumented[s],
          m.peaks[s] ?? "",
          ...(pod ? [`${pod.peakMb} / ${pod.limitMb}`, String(pod.oomKills)] : []),
        ];
      }),
    ),
    `At ${fmt(allMs)} ms of the machine's CPU per documented invoice, ${targetRate}/s takes ${fmt((allMs * targetRate) / 1000)} cores${figures.backlogAtEnd > m.rate ? " (a backlog grew: the pipeline did not keep up, so the cost per invoice is overstated; a lower --documents-rate measures it)" : ""}.`,
  ];
  return { figures, targets, md: md.join("\n\n") };
}
