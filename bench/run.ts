// `npm run bench`: issue 16's targets measured side by side in one run, printed as PASS or MISS,
// written to bench/results/bench.{json,md}. A MISS is a finding, not a failure: the exit code is
// 1 when a section could not measure, 2 when a peer tool cannot be installed, 3 past the backstop,
// 64 for flags it does not take (usage below).
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { callsSection } from "./calls.ts";
import { documentsSection } from "./documents.ts";
import { peerTools, type PeerTools } from "./peer-tools.ts";
import { podLimitsRefusal } from "./pod-limits.ts";
import { table, targetTable, type Target } from "./results.ts";
import { startStack, tmpDir } from "./stack.ts";
import { startSection } from "./start-time.ts";

const usage = `npm run bench -- [--seconds 10] [--warmup 3] [--rounds 3] [--concurrency 32] [--documents-seconds 60] [--documents-rate 100]
  [--only calls,documents,start] [--paths get-server,...] [--node-options=...] [--pod-limits] [--profile]
(bench/README.md says what each does)`;
const refuse = (message: string): never => {
  console.error(`bench: ${message}\n${usage}`);
  process.exit(64);
};
const options = {
  seconds: { type: "string", default: "10" },
  warmup: { type: "string", default: "3" },
  rounds: { type: "string", default: "3" },
  concurrency: { type: "string", default: "32" },
  "documents-seconds": { type: "string", default: "60" },
  "documents-rate": { type: "string", default: "100" },
  only: { type: "string", default: "calls,documents,start" },
  paths: { type: "string" },
  "node-options": { type: "string" },
  "pod-limits": { type: "boolean", default: false },
  profile: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;
const flags = (() => {
  try {
    return parseArgs({ options }).values;
  } catch (err) {
    return refuse(err instanceof Error ? err.message : String(err));
  }
})();
if (flags.help) {
  console.log(usage);
  process.exit(0);
}
const whole = (name: keyof typeof flags, min: number) => {
  const n = Number(flags[name]);
  if (!Number.isInteger(n) || n < min) refuse(`--${name} must be a whole number >= ${min}`);
  return n;
};
const settings = {
  seconds: whole("seconds", 1),
  warmupS: whole("warmup", 0),
  rounds: whole("rounds", 1),
  concurrency: whole("concurrency", 1),
  documentsSeconds: whole("documents-seconds", 1),
  documentsRate: whole("documents-rate", 1),
  sections: flags.only.split(",").map((s) => s.trim()),
  /** The calls paths to run (all when unset); a target needs both of its paths. */
  paths: flags.paths?.split(",").map((s) => s.trim()),
  /** NODE_OPTIONS added after the services' own (serviceNodeOptions). */
  nodeOptions: flags["node-options"],
  /** Each service in a memory cgroup of its chart limit. */
  podLimits: flags["pod-limits"],
};
const known = ["calls", "documents", "start"];
for (const s of settings.sections) if (!known.includes(s)) refuse(`--only: unknown section "${s}" (${known.join(", ")})`);
if (settings.podLimits) {
  const refusal = podLimitsRefusal();
  if (refusal) refuse(refusal);
  if (!settings.sections.some((s) => s === "calls" || s === "documents"))
    refuse("--pod-limits applies to the calls and documents sections");
}

const started = { at: new Date(), ms: performance.now(), load: loadavg()[0]! };
const stamp = `b${started.at.getTime().toString(36)}`;
const say = (line: string) => console.log(`[${((performance.now() - started.ms) / 1000).toFixed(1).padStart(6)} s] ${line}`);
const workDir = join(tmpDir, stamp);
const profileDir = flags.profile ? resolve(".data", "profiles") : undefined;
const has = (section: string) => settings.sections.includes(section);
// A backstop for a hung tool: every section's time with room to spare.
const deadlineS =
  600 + settings.rounds * 8 * (settings.seconds + settings.warmupS + 10) + settings.documentsSeconds + settings.warmupS + 300;
setTimeout(() => (console.error(`bench: still running after ${deadlineS} s; stopping`), process.exit(3)), deadlineS * 1000).unref();

const results: Record<string, { targets: Target[]; md: string } | undefined> = {};
const failures: string[] = [];
async function section<T>(name: string, run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (err) {
    console.error(`bench: ${name} could not measure:`, err);
    failures.push(name);
    return undefined;
  }
}

let tools: PeerTools | undefined;
if (has("calls") || has("documents")) {
  tools = peerTools(say);
  const stack = await section("stack", () =>
    startStack(stamp, say, { profileDir, nodeOptions: settings.nodeOptions, podLimits: settings.podLimits }),
  );
  if (stack) {
    const o = { ...settings, tools, stack, workDir, say };
    if (has("calls")) results.calls = await section("calls", () => callsSection(o));
    if (has("documents"))
      results.documents = await section("documents", () => documentsSection({ ...o, seconds: o.documentsSeconds, rate: o.documentsRate }));
    await stack.close();
  }
}
if (has("start")) results.start = await section("start", () => startSection(workDir, say));

const targets = Object.values(results).flatMap((r) => r?.targets ?? []);
console.log(`\n${targetTable(targets)}\n`);
writeResults();
if (profileDir) {
  say(`CPU profiles (written on exit) in ${profileDir}/${stamp}-<service>; summary:`);
  say(`  npx tsx bench/profile-summary.ts ${join(profileDir, `${stamp}-server`)}`);
}
process.exit(failures.length > 0 ? 1 : 0);

function writeResults() {
  // A profiled or partial run is not the bench's figures: it goes next to the scratch files.
  const out =
    flags.profile ||
    settings.paths ||
    settings.nodeOptions !== undefined ||
    process.env.NODE_OPTIONS ||
    settings.podLimits ||
    settings.documentsRate !== 100 ||
    settings.sections.length < known.length
      ? workDir
      : resolve("bench", "results");
  const durationS = Math.round((performance.now() - started.ms) / 1000);
  const machine = { cores: availableParallelism(), loadAverage: [started.load, loadavg()[0]] };
  const versions = { ...tools?.versions, node: process.version };
  const json = { startedAt: started.at.toISOString(), durationS, settings, machine, versions, failures, targets, ...results };
  const s = settings;
  const md = [
    "# bench (issue 16)",
    `${started.at.toISOString()}, ${machine.cores} cores, load average ${started.load.toFixed(1)} at the start (other jobs share the cores), ${durationS} s in all.`,
    `Settings: --seconds ${s.seconds} --warmup ${s.warmupS} --rounds ${s.rounds} --concurrency ${s.concurrency} --documents-seconds ${s.documentsSeconds} --documents-rate ${s.documentsRate}${s.nodeOptions === undefined ? "" : `; NODE_OPTIONS added for the services: \`${s.nodeOptions}\``}${s.podLimits ? "; each service in a memory cgroup of its chart limit (--pod-limits)" : ""}.`,
    table(["peer", "version"], Object.entries(versions)),
    targetTable(targets) + (failures.length > 0 ? `\n\nCould not measure: ${failures.join(", ")}.` : ""),
    ...Object.values(results).flatMap((r) => r?.md ?? []),
  ];
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "bench.json"), `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(join(out, "bench.md"), `${md.join("\n\n")}\n`);
  say(`wrote ${join(out, "bench.json")} and bench.md (${durationS} s in all)`);
}
