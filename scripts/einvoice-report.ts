// Summarises one validator run of scripts/einvoice-validate.sh; exits 1 on a failed expectation.
//   npx tsx scripts/einvoice-report.ts valid <kind> <results.jsonl> <checks.tsv>
//   npx tsx scripts/einvoice-report.ts rejected <kind> <results.jsonl> <rejected.tsv>
import { readFileSync } from "node:fs";

interface Finding {
  rule: string;
  message: string;
}
interface Result {
  path: string;
  errors?: Finding[];
  warnings?: Finding[];
}

const [mode, kind, resultsFile = "", checksFile = ""] = process.argv.slice(2);
const results = readFileSync(resultsFile, "utf8")
  .trim()
  .split("\n")
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Result);
const name = (path: string) => path.split("/").pop();
const count = (key: "errors" | "warnings") => results.reduce((n, r) => n + (r[key] ?? []).length, 0);
const expected = new Map(
  readFileSync(checksFile, "utf8")
    .trim()
    .split("\n")
    .map((l) => l.split("\t"))
    .filter(([k]) => k === kind)
    .map(([, path, rule]): [string, string] => [path!, rule ?? ""]),
);
const unanswered = [...expected.keys()].filter((path) => !results.some((r) => r.path === path));
for (const path of unanswered) console.log(`  ${name(path)}: no result from the validator`);
if (mode === "valid") {
  console.log(`${kind}: ${results.length} files, ${count("errors")} errors, ${count("warnings")} warnings`);
  for (const r of results) for (const e of r.errors ?? []) console.log(`  ${name(r.path)}: ${e.rule} ${e.message}`);
  process.exit(count("errors") === 0 && unanswered.length === 0 ? 0 : 1);
}
const missed = [...expected].filter(([path, rule]) => !results.find((r) => r.path === path)?.errors?.some((e) => e.rule === rule));
console.log(`${kind}: ${expected.size - missed.length} of ${expected.size} refused with the expected rule`);
for (const [path, rule] of missed) console.log(`  ${name(path)}: expected ${rule}`);
process.exit(missed.length === 0 ? 0 : 1);
