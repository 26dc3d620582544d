// Re-renders bench/results/<name>.md and .svg from <name>.json (default "latest") after a change to
// the report or the chart, without measuring again: npx tsx bench/render.ts [name]
import { readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { renderChart } from "./chart.ts";
import { renderMarkdown } from "./report.ts";
import { judge, type BenchResults } from "./results-model.ts";

const name = process.argv[2] ?? "latest";
const base = join("bench", "results", name);
const results = JSON.parse(readFileSync(`${base}.json`, "utf8"), (_key, value: unknown) => (value === null ? NaN : value)) as BenchResults;
results.ratios = judge(results);
writeFileSync(`${base}.md`, renderMarkdown(results, `${basename(name)}.svg`));
writeFileSync(`${base}.svg`, renderChart(results));
process.stdout.write(`rendered ${base}.md and ${base}.svg\n`);
