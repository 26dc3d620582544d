// What the sections report: figures in tables, and the targets judged PASS or MISS.

export interface Target {
  label: string;
  value: number;
  goal: string;
  pass: boolean;
  /** Why the value cannot be judged (failed calls, nothing measured); PASS/MISS otherwise. */
  notJudged?: string;
}

/** A target `value op limit`, shown with `unit`; NaN is not judged. */
export function target(label: string, value: number, op: ">=" | "<=" | "<", limit: number, unit = "x", notJudged?: string): Target {
  const pass = op === ">=" ? value >= limit : op === "<=" ? value <= limit : value < limit;
  return {
    label,
    value,
    goal: `${op} ${fmt(limit)} ${unit}`,
    pass,
    notJudged: notJudged ?? (Number.isNaN(value) ? "nothing measured" : undefined),
  };
}

/** The nearest-rank percentile `p` (0..1) of ascending `sorted`; NaN when empty. */
export const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? NaN;

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Two significant decimals below 10, fewer above; "n/a" for NaN, "-" for undefined. */
export function fmt(n: number | undefined): string {
  if (n === undefined) return "-";
  if (!Number.isFinite(n)) return Number.isNaN(n) ? "n/a" : "inf";
  return n.toFixed(Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2);
}

export function table(header: string[], rows: (string | number | undefined)[][]): string {
  const cell = (v: string | number | undefined) => (typeof v === "string" ? v : fmt(v));
  return [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)].join(
    "\n",
  );
}

export const targetTable = (targets: Target[]) =>
  table(
    ["target", "measured", "goal", "result"],
    targets.map((t) => [
      t.label,
      `${fmt(t.value)} ${t.goal.split(" ").at(-1)}`,
      t.goal,
      t.notJudged ? `NOT JUDGED (${t.notJudged})` : t.pass ? "PASS" : "MISS",
    ]),
  );
