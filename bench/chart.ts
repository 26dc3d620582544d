// bench/results/latest.svg, drawn by hand: throughput and p99 per concurrency for each target,
// event latencies and consumer throughput. No chart library.
import { targetOrder } from "./report.ts";
import type { BenchResults, Method } from "./results-model.ts";

const colors: Record<string, { color: string; dash?: string }> = {
  floor: { color: "#444444", dash: "6 4" },
  "server-connect-binary": { color: "#1f77b4" },
  "server-grpc": { color: "#17becf" },
  "gateway-connect-binary": { color: "#d62728" },
  "gateway-connect-json": { color: "#ff7f0e" },
  "gateway-grpc-web": { color: "#9467bd" },
  "gateway-grpc": { color: "#2ca02c" },
};

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const f = (n: number) => (Math.round(n * 10) / 10).toString();

function niceCeiling(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((c) => c >= v) ?? 10 * p;
}

function formatTick(v: number): string {
  if (v >= 1000) return `${v / 1000}k`;
  return v >= 1 ? String(v) : v.toPrecision(1);
}

interface Frame {
  x: number;
  y: number;
  w: number;
  h: number;
}

interface Scale {
  at(v: number): number;
  ticks: number[];
}

function linearScale(max: number, frame: Frame): Scale {
  // Used by the consumer-throughput bars; the line charts are logarithmic.
  const top = niceCeiling(max);
  return { at: (v) => frame.y + frame.h - (v / top) * frame.h, ticks: [0, 0.25, 0.5, 0.75, 1].map((t) => t * top) };
}

function logScale(min: number, max: number, frame: Frame): Scale {
  const lo = 10 ** Math.floor(Math.log10(Math.max(min, 0.01)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(max, lo * 10)));
  const span = Math.log10(hi) - Math.log10(lo);
  const ticks: number[] = [];
  for (let t = lo; t <= hi * 1.0001; t *= 10) ticks.push(t);
  return { at: (v) => frame.y + frame.h - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / span) * frame.h, ticks };
}

function axes(frame: Frame, scale: Scale, title: string, unit: string): string[] {
  const out = [`<text x="${frame.x}" y="${frame.y - 12}" class="title">${esc(title)}</text>`];
  for (const t of scale.ticks) {
    const y = f(scale.at(t));
    out.push(`<line x1="${frame.x}" x2="${frame.x + frame.w}" y1="${y}" y2="${y}" class="grid"/>`);
    out.push(`<text x="${frame.x - 6}" y="${y}" class="tick" text-anchor="end" dominant-baseline="middle">${formatTick(t)}</text>`);
  }
  out.push(
    `<text x="${frame.x - 44}" y="${frame.y + frame.h / 2}" class="unit" transform="rotate(-90 ${frame.x - 44} ${frame.y + frame.h / 2})" text-anchor="middle">${esc(unit)}</text>`,
  );
  out.push(`<rect x="${frame.x}" y="${frame.y}" width="${frame.w}" height="${frame.h}" class="frame"/>`);
  return out;
}

function linePanel(r: BenchResults, frame: Frame, method: Method, value: "rps" | "p99Ms"): string[] {
  const cells = r.throughput.filter((c) => c.method === method && c.tenancy === "spread" && c.requests > 0);
  const levels = [...new Set(r.throughput.map((c) => c.concurrency))].sort((a, b) => a - b);
  const values = cells.map((c) => c[value]);
  // Log scales: the SQL floor is an order of magnitude above the services.
  const scale = logScale(Math.min(...values, 10), Math.max(...values, 10), frame);
  const title = value === "rps" ? `${method}: throughput by concurrent calls (log)` : `${method}: p99 latency by concurrent calls (log)`;
  const out = axes(frame, scale, title, value === "rps" ? "calls / s" : "ms");
  const xAt = (i: number) => frame.x + ((i + 0.5) / levels.length) * frame.w;
  levels.forEach((l, i) => out.push(`<text x="${f(xAt(i))}" y="${frame.y + frame.h + 16}" class="tick" text-anchor="middle">${l}</text>`));
  for (const target of targetOrder) {
    const style = colors[target]!;
    const points = levels
      .map((l, i) => {
        const c = cells.find((x) => x.target === target && x.concurrency === l);
        return c ? `${f(xAt(i))},${f(scale.at(c[value]))}` : undefined;
      })
      .filter((p): p is string => p !== undefined);
    if (points.length === 0) continue;
    const dash = style.dash ? ` stroke-dasharray="${style.dash}"` : "";
    out.push(`<polyline points="${points.join(" ")}" fill="none" stroke="${style.color}" stroke-width="2"${dash}/>`);
    for (const p of points) {
      const [x, y] = p.split(",");
      out.push(`<circle cx="${x}" cy="${y}" r="3" fill="${style.color}"/>`);
    }
  }
  return out;
}

interface Mark {
  value: number;
  label: string;
  color: string;
}

function barPanel(
  frame: Frame,
  title: string,
  unit: string,
  bars: { group: string; label: string; value: number; color: string }[],
  log: boolean,
  marks: Mark[] = [],
): string[] {
  const values = bars.map((b) => b.value).filter((v) => Number.isFinite(v));
  const top = Math.max(...values, ...marks.map((m) => m.value), 10);
  const scale = log ? logScale(Math.min(...values, 1), top, frame) : linearScale(top, frame);
  const out = axes(frame, scale, title, unit);
  const groups = [...new Set(bars.map((b) => b.group))];
  const groupWidth = frame.w / Math.max(groups.length, 1);
  groups.forEach((g, gi) => {
    const members = bars.filter((b) => b.group === g);
    const barWidth = Math.min(30, (groupWidth - 8) / 4);
    const start = frame.x + gi * groupWidth + (groupWidth - barWidth * members.length) / 2;
    members.forEach((b, bi) => {
      if (!Number.isFinite(b.value)) return;
      const x = start + bi * barWidth;
      const y = scale.at(b.value);
      out.push(
        `<rect x="${f(x + 2)}" y="${f(y)}" width="${f(barWidth - 4)}" height="${f(frame.y + frame.h - y)}" fill="${b.color}"><title>${esc(`${g} ${b.label}: ${b.value.toFixed(1)} ${unit}`)}</title></rect>`,
      );
      const text = b.value >= 10_000 ? `${(b.value / 1000).toFixed(0)}k` : b.value >= 100 ? b.value.toFixed(0) : b.value.toFixed(1);
      out.push(`<text x="${f(x + barWidth / 2)}" y="${f(y - 4)}" class="value" text-anchor="middle">${text}</text>`);
    });
    const [line1, line2] = g.split(", ");
    const cx = f(frame.x + gi * groupWidth + groupWidth / 2);
    out.push(`<text x="${cx}" y="${frame.y + frame.h + 16}" class="tick" text-anchor="middle">${esc(line1 ?? g)}</text>`);
    if (line2) out.push(`<text x="${cx}" y="${frame.y + frame.h + 30}" class="tick" text-anchor="middle">${esc(line2)}</text>`);
  });
  for (const mark of marks) {
    const y = f(scale.at(mark.value));
    out.push(`<line x1="${frame.x}" x2="${frame.x + frame.w}" y1="${y}" y2="${y}" stroke="${mark.color}" stroke-dasharray="3 3"/>`);
    out.push(`<text x="${frame.x + 4}" y="${Number(y) - 4}" class="tick" fill="${mark.color}">${esc(mark.label)}</text>`);
  }
  return out;
}

export function renderChart(r: BenchResults): string {
  const width = 1200;
  const panelW = 480;
  const panelH = 220;
  const left = [90, 690];
  const rows = [90, 380, 720];
  const out: string[] = [];
  const m = r.meta;
  out.push(
    `<text x="20" y="28" class="heading">Invoicer benchmark · commit ${esc(m.commit)}${m.dirty ? " (dirty)" : ""} · ${m.cpus} CPUs · Node ${esc(m.node)} · ${esc(m.startedAt.slice(0, 10))}</text>`,
  );
  out.push(
    `<text x="20" y="46" class="tick">closed-loop workers; ${esc(String(m.settings.window ?? ""))} per cell after ${esc(String(m.settings.warmup ?? ""))} warm-up; load generator on the same machine</text>`,
  );
  linePanel(r, { x: left[0]!, y: rows[0]!, w: panelW, h: panelH }, "CreateInvoice", "rps").forEach((l) => out.push(l));
  linePanel(r, { x: left[1]!, y: rows[0]!, w: panelW, h: panelH }, "GetInvoice", "rps").forEach((l) => out.push(l));
  linePanel(r, { x: left[0]!, y: rows[1]!, w: panelW, h: panelH }, "CreateInvoice", "p99Ms").forEach((l) => out.push(l));
  linePanel(r, { x: left[1]!, y: rows[1]!, w: panelW, h: panelH }, "GetInvoice", "p99Ms").forEach((l) => out.push(l));

  // Legend between the line charts and the bar charts.
  const legendY = rows[1]! + panelH + 44;
  const present = targetOrder.filter((t) => r.throughput.some((c) => c.target === t));
  present.forEach((t, i) => {
    const x = 90 + (i % 4) * 270;
    const y = legendY + Math.floor(i / 4) * 20;
    const style = colors[t]!;
    const label = r.throughput.find((c) => c.target === t)!.label;
    out.push(
      `<line x1="${x}" x2="${x + 26}" y1="${y}" y2="${y}" stroke="${style.color}" stroke-width="2"${style.dash ? ` stroke-dasharray="${style.dash}"` : ""}/>`,
    );
    out.push(`<text x="${x + 32}" y="${y}" class="tick" dominant-baseline="middle">${esc(label)}</text>`);
  });

  const eventBars = r.events.flatMap((e) =>
    e.consumers === 0
      ? [
          { group: `${e.rate}/s, none rendering`, label: "commit -> consumer p50", value: e.commitToReceivedMs.p50, color: "#9ecae1" },
          { group: `${e.rate}/s, none rendering`, label: "commit -> consumer p99", value: e.commitToReceivedMs.p99, color: "#3182bd" },
        ]
      : [
          {
            group: `${e.rate}/s, ${e.consumers} rendering`,
            label: "commit -> consumer p50",
            value: e.commitToReceivedMs.p50,
            color: "#9ecae1",
          },
          {
            group: `${e.rate}/s, ${e.consumers} rendering`,
            label: "commit -> consumer p99",
            value: e.commitToReceivedMs.p99,
            color: "#3182bd",
          },
          { group: `${e.rate}/s, ${e.consumers} rendering`, label: "create -> READY p50", value: e.createToReadyMs.p50, color: "#fdae6b" },
          { group: `${e.rate}/s, ${e.consumers} rendering`, label: "create -> READY p99", value: e.createToReadyMs.p99, color: "#e6550d" },
        ],
  );
  const barKinds = [...new Map(eventBars.map((b) => [b.label, b.color])).entries()];
  barKinds.forEach(([label, color], i) => {
    const x = left[0]! + (i % 2) * 240;
    const y = rows[2]! + panelH + 48 + Math.floor(i / 2) * 18;
    out.push(`<rect x="${x}" y="${y - 6}" width="12" height="12" fill="${color}"/>`);
    out.push(`<text x="${x + 18}" y="${y}" class="tick" dominant-baseline="middle">${esc(label)}</text>`);
  });
  if (eventBars.length > 0) {
    barPanel({ x: left[0]!, y: rows[2]!, w: panelW, h: panelH }, "Event latency by create rate (log)", "ms", eventBars, true, [
      { value: 50, label: "consumer p99 target 50 ms", color: "#3182bd" },
      { value: 500, label: "READY p99 target 500 ms", color: "#e6550d" },
    ]).forEach((l) => out.push(l));
  }
  const consumerBars = r.consumers.map((c) => ({
    group: `${c.consumers} consumer${c.consumers > 1 ? "s" : ""}`,
    label: "rendered/s",
    value: c.renderedPerSecond,
    color: "#31a354",
  }));
  if (consumerBars.length > 0) {
    barPanel(
      { x: left[1]!, y: rows[2]!, w: panelW, h: panelH },
      "Consumer throughput: invoices rendered per second",
      "invoices / s",
      consumerBars,
      false,
    ).forEach((l) => out.push(l));
  }
  const height = rows[2]! + panelH + 90;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">
<style>
  .heading { font-size: 16px; font-weight: bold; fill: #222; }
  .title { font-size: 13px; font-weight: bold; fill: #222; }
  .tick { font-size: 11px; fill: #444; }
  .value { font-size: 10px; fill: #222; }
  .unit { font-size: 11px; fill: #444; }
  .grid { stroke: #e5e5e5; stroke-width: 1; }
  .frame { fill: none; stroke: #999; stroke-width: 1; }
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
${out.join("\n")}
</svg>
`;
}
