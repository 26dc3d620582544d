// Where a service's CPU time went, from the .cpuprofile files Node writes with --cpu-prof
// (`npm run bench -- --profile` puts them in .data/profiles/<stamp>-<service>):
//   npx tsx bench/profile-summary.ts .data/profiles/<stamp>-server [more dirs or files]
// Prints self time by package (or project folder, or Node internal module) and the hottest functions.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The package, project folder or Node module a script belongs to. */
export function areaOf(url: string, functionName: string): string {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  const modules = url.lastIndexOf("/node_modules/");
  if (modules >= 0) {
    const [first, second] = url.slice(modules + "/node_modules/".length).split("/");
    return first?.startsWith("@") ? `${first}/${second}` : (first ?? url);
  }
  if (url.startsWith("node:")) return url.split("/").slice(0, 2).join("/");
  const project = /\/(gateway|server|consumer|platform|gen|bench|test|faults)\//.exec(url);
  return project ? `${project[1]}/ (project)` : url;
}

function files(paths: string[]): string[] {
  return paths.flatMap((p) =>
    statSync(p).isDirectory()
      ? readdirSync(p)
          .filter((f) => f.endsWith(".cpuprofile"))
          .map((f) => join(p, f))
      : [p],
  );
}

export function summarizeProfiles(paths: string[]) {
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, { ms: number; area: string }>();
  const byProjectFile = new Map<string, number>();
  let totalMs = 0;
  for (const file of files(paths)) {
    const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    const parents = new Map<number, number>();
    for (const n of profile.nodes) for (const child of n.children ?? []) parents.set(child, n.id);
    /** The innermost frame of our own code on the stack: which of our files caused the work (synchronous part only). */
    const projectFrame = (id: number): string | undefined => {
      for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
        const project = /\/((?:gateway|server|consumer|platform)\/src\/.*)$/.exec(nodes.get(at)!.callFrame.url);
        if (project) return project[1];
      }
      return undefined;
    };
    profile.samples.forEach((id, i) => {
      const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
      const { functionName, url, lineNumber } = nodes.get(id)!.callFrame;
      const area = areaOf(url, functionName);
      totalMs += ms;
      byArea.set(area, (byArea.get(area) ?? 0) + ms);
      if (area !== "(idle)") {
        const owner = projectFrame(id) ?? `(no project frame) ${area}`;
        byProjectFile.set(owner, (byProjectFile.get(owner) ?? 0) + ms);
      }
      const key = `${functionName || "(anonymous)"} ${url.replace(/^.*\/node_modules\//, "").replace(/^file:\/\/.*?\/(gateway|server|consumer|platform|gen)\//, "$1/")}:${lineNumber + 1}`;
      const entry = byFunction.get(key) ?? { ms: 0, area };
      entry.ms += ms;
      byFunction.set(key, entry);
    });
  }
  const idleMs = byArea.get("(idle)") ?? 0;
  return { totalMs, busyMs: totalMs - idleMs, byArea, byFunction, byProjectFile };
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("profile-summary.ts")) {
  const paths = process.argv.slice(2);
  if (paths.length === 0) {
    process.stderr.write("usage: npx tsx bench/profile-summary.ts <profile dir or .cpuprofile>...\n");
    process.exit(2);
  }
  const { totalMs, busyMs, byArea, byFunction, byProjectFile } = summarizeProfiles(paths);
  const pct = (ms: number) => `${((ms / busyMs) * 100).toFixed(1).padStart(5)} %`;
  process.stdout.write(
    `profiled ${(totalMs / 1000).toFixed(1)} s, busy (not idle) ${(busyMs / 1000).toFixed(1)} s\n\nself time by area (share of busy time):\n`,
  );
  for (const [area, ms] of [...byArea]
    .filter(([a]) => a !== "(idle)")
    .sort((a, b) => b[1] - a[1])
    .slice(0, 25)) {
    process.stdout.write(`  ${pct(ms)}  ${(ms / 1000).toFixed(2).padStart(7)} s  ${area}\n`);
  }
  process.stdout.write(`\nby the innermost file of ours on the stack (work after an await has only the resumed function there):\n`);
  for (const [owner, ms] of [...byProjectFile].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    process.stdout.write(`  ${pct(ms)}  ${(ms / 1000).toFixed(2).padStart(7)} s  ${owner}\n`);
  }
  process.stdout.write(`\nhottest functions (self time):\n`);
  for (const [name, { ms }] of [...byFunction]
    .filter(([n]) => !n.startsWith("(idle)"))
    .sort((a, b) => b[1].ms - a[1].ms)
    .slice(0, 30)) {
    process.stdout.write(`  ${pct(ms)}  ${name}\n`);
  }
}
