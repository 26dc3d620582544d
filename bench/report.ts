// bench/results/latest.md: the run's figures as tables, for people.
import { comparedConcurrency, judge, otherFigures, type BenchResults, type Method, type ThroughputCell } from "./results-model.ts";

const ms = (v: number | undefined) =>
  v === undefined || Number.isNaN(v) ? "–" : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
const num = (v: number | undefined, digits = 0) => (v === undefined || Number.isNaN(v) ? "–" : v.toFixed(digits));
const mb = (v: number | undefined) => (v === undefined ? "–" : `${v.toFixed(0)} MiB`);

export const targetOrder = [
  "floor",
  "server-connect-binary",
  "server-grpc",
  "gateway-connect-binary",
  "gateway-connect-json",
  "gateway-grpc-web",
  "gateway-grpc",
];

function cellText(c: ThroughputCell | undefined): string {
  if (!c) return "–";
  const errors = c.errors > 0 ? ` · **${c.errors} errors**` : "";
  return `${num(c.rps)}/s · ${ms(c.p50Ms)} / ${ms(c.p99Ms)} ms${errors}`;
}

function throughputTable(r: BenchResults, method: Method): string {
  const cells = r.throughput.filter((c) => c.method === method && c.tenancy === "spread");
  const levels = [...new Set(cells.map((c) => c.concurrency))].sort((a, b) => a - b);
  const targets = targetOrder.filter((t) => cells.some((c) => c.target === t));
  const rows = targets.map((t) => {
    const label = cells.find((c) => c.target === t)!.label;
    return `| ${label} | ${levels.map((l) => cellText(cells.find((c) => c.target === t && c.concurrency === l))).join(" | ")} |`;
  });
  return [`| target | ${levels.map((l) => `${l} concurrent`).join(" | ")} |`, `|---|${levels.map(() => "---|").join("")}`, ...rows].join(
    "\n",
  );
}

function cpuTable(r: BenchResults, concurrency: number): string {
  const cells = r.throughput.filter((c) => c.concurrency === concurrency);
  const processes = [...new Set(cells.flatMap((c) => Object.keys(c.cpuMsPerRequest)))];
  const rows = cells.map((c) => {
    const total = Object.values(c.cpuMsPerRequest).reduce((a, b) => a + b, 0);
    const tenancy = c.tenancy === "one-tenant" ? " (one tenant)" : "";
    return `| ${c.method}${tenancy} | ${c.label} | ${processes.map((p) => ms(c.cpuMsPerRequest[p])).join(" | ")} | ${ms(total)} | ${num(c.othersCpuPercent)} % |`;
  });
  return [
    `| method | target | ${processes.join(" | ")} | total | others' CPU |`,
    `|---|---|${processes.map(() => "---|").join("")}---|---|`,
    ...rows,
  ].join("\n");
}

export function renderMarkdown(r: BenchResults, chartFile: string): string {
  const m = r.meta;
  const c = comparedConcurrency(r);
  const minutes = `${Math.floor(m.totalMs / 60_000)} min ${Math.round((m.totalMs % 60_000) / 1000)} s`;
  const settings = Object.entries(m.settings)
    .map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(", ") : String(v)}`)
    .join("; ");
  const out: string[] = [];
  out.push(`# Invoicer benchmark: the latest run

Written by \`npm run bench\` (bench/run.ts) on ${m.startedAt.slice(0, 16).replace("T", " ")} UTC, commit ${m.commit}${m.dirty ? " with uncommitted changes in the tree" : ""}.
Machine: ${m.cpus} CPUs (${m.cpuModel}), Node ${m.node}, ${m.platform}; load average at start ${m.loadAverageAtStart.map((l) => l.toFixed(2)).join(" / ")}.
${m.managed ? "The bench started every process itself (fresh PostgreSQL cluster, Kafka broker, database and topic)." : "The bench measured processes that were already running (BENCH_GATEWAY_URL)."}
The load generator runs in the bench's own process on the same machine. Total run time: ${minutes}.
Settings: ${settings}.

![throughput, latency, events and consumers](${chartFile})
`);

  out.push(`## Targets\n\n| | measured | target | |\n|---|---|---|---|`);
  for (const t of judge(r))
    out.push(`| ${t.name} | ${num(t.value, t.value < 10 ? 2 : 0)} | ${t.target} | **${t.pass ? "PASS" : "MISS"}** (${t.detail}) |`);
  const others = otherFigures(r);
  if (others.length > 0)
    out.push(
      `\nOther figures:\n\n${others.map((o) => `- ${o.name}: ${o.value < 10 ? o.value.toFixed(2) : o.value.toFixed(0)}`).join("\n")}`,
    );

  for (const method of ["CreateInvoice", "GetInvoice"] as const) {
    if (!r.throughput.some((x) => x.method === method)) continue;
    out.push(`\n## ${method}: throughput and p50 / p99 latency\n\n${throughputTable(r, method)}`);
  }
  const oneTenant = r.throughput.filter((x) => x.tenancy === "one-tenant");
  if (oneTenant.length > 0) {
    out.push(`\nCreateInvoice with every worker on **one tenant** (its counter row serialises the creates; gapless numbering):\n`);
    out.push(`| target | concurrent | throughput | p50 / p99 |\n|---|---|---|---|`);
    for (const x of oneTenant) out.push(`| ${x.label} | ${x.concurrency} | ${num(x.rps)}/s | ${ms(x.p50Ms)} / ${ms(x.p99Ms)} ms |`);
  }
  if (c !== undefined && r.throughput.length > 0) {
    out.push(
      `\n## CPU time per call at ${c} concurrent calls (ms)\n\nCPU time each process used during the measurement window divided by the calls completed in it (from /proc; PostgreSQL is the postmaster and all its backends). On ${m.cpus} cores, ${m.cpus * 1000} ms of CPU per second is all there is. *Others' CPU* is the share of the whole machine used meanwhile by processes outside the bench (other people's work on this shared machine).\n\n${cpuTable(r, c)}`,
    );
  }

  if (r.events.length > 0) {
    out.push(`\n## Event latency (creates through the gateway at a steady rate)\n`);
    out.push(
      `| rate | document consumers | creates | consumer received | READY seen | commit -> consumer p50 / p99 | response -> consumer p50 / p99 | create -> READY p50 / p99 / max | machine CPU (others') |`,
    );
    out.push(`|---|---|---|---|---|---|---|---|---|`);
    for (const e of r.events) {
      const ok = e.sent - e.failed;
      // A missing event counts as the time waited for it: the percentile is then a lower bound.
      const k = e.received < ok ? "≥ " : "";
      const rd = e.consumers > 0 && e.ready < ok ? "≥ " : "";
      out.push(
        `| ${e.rate}/s for ${e.durationMs / 1000} s | ${e.consumers === 0 ? "stopped" : `${e.consumers} rendering`} | ${ok}${e.failed ? ` (${e.failed} failed)` : ""} | ${e.received} | ${e.consumers === 0 ? "–" : e.ready} | ${ms(e.commitToReceivedMs.p50)} / ${k}${ms(e.commitToReceivedMs.p99)} ms | ${ms(e.responseToReceivedMs.p50)} / ${k}${ms(e.responseToReceivedMs.p99)} ms | ${e.consumers === 0 ? "–" : `${ms(e.createToReadyMs.p50)} / ${rd}${ms(e.createToReadyMs.p99)} / ${rd}${ms(e.createToReadyMs.max)} ms`} | ${num(e.machineCpuPercent)} % (${num(e.othersCpuPercent)} %) |`,
      );
    }
    const processes = [...new Set(r.events.flatMap((e) => Object.keys(e.cpuMsPerCreate ?? {})))].filter((p) =>
      r.events.some((e) => (e.cpuMsPerCreate?.[p] ?? 0) >= 0.05),
    );
    if (processes.length > 0) {
      out.push(`\nCPU ms per create while the creates were sent (everything the system did meanwhile, rendering included):\n`);
      out.push(`| rate | document consumers | ${processes.join(" | ")} |\n|---|---|${processes.map(() => "---|").join("")}`);
      for (const e of r.events)
        out.push(
          `| ${e.rate}/s | ${e.consumers === 0 ? "stopped" : e.consumers} | ${processes.map((p) => ms(e.cpuMsPerCreate?.[p])).join(" | ")} |`,
        );
    }
    if (r.events.some((e) => (e.consumers > 0 && e.ready < e.sent - e.failed) || e.received < e.sent - e.failed)) {
      out.push(
        `\n≥: not every event arrived within the settle time; each missing one counts as the time waited, so the figure is a lower bound.`,
      );
    }
  }

  if (r.consumers.length > 0) {
    out.push(`\n## Consumer throughput (a pre-loaded backlog of issued invoices)\n`);
    const processes = [...new Set(r.consumers.flatMap((x) => Object.keys(x.cpuMsPerInvoice)))].filter((p) =>
      r.consumers.some((x) => (x.cpuMsPerInvoice[p] ?? 0) >= 0.05),
    );
    out.push(
      `| consumers | invoices | READY | rendered per second | first -> last document | spawn -> all READY | CPU ms per invoice: ${processes.join(" / ")} | others' CPU |\n|---|---|---|---|---|---|---|---|`,
    );
    for (const x of r.consumers) {
      const cpu = processes.map((p) => ms(x.cpuMsPerInvoice[p])).join(" / ");
      out.push(
        `| ${x.consumers} | ${x.invoices} | ${x.ready} | ${num(x.renderedPerSecond, 1)} | ${(x.firstToLastMs / 1000).toFixed(2)} s | ${(x.spawnToAllReadyMs / 1000).toFixed(2)} s | ${cpu} | ${num(x.othersCpuPercent)} % |`,
      );
    }
  }

  if (r.processes.length > 0) {
    const phases = [...new Set(r.processes.flatMap((p) => Object.keys(p.peakMb)))];
    out.push(`\n## Processes: start-up (spawn -> healthy) and memory\n`);
    out.push(
      `| process | start-up | idle | ${phases.map((p) => `peak: ${p}`).join(" | ")} |\n|---|---|---|${phases.map(() => "---|").join("")}`,
    );
    for (const p of r.processes) {
      out.push(
        `| ${p.name} | ${p.startupMs === undefined ? "–" : `${(p.startupMs / 1000).toFixed(2)} s`} | ${mb(p.idleMb)} | ${phases.map((ph) => mb(p.peakMb[ph])).join(" | ")} |`,
      );
    }
  }

  out.push(`\n## How it was measured\n\n${r.notes.map((n) => `- ${n}`).join("\n")}\n`);
  return out.join("\n");
}
