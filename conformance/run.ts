// npm run test:conformance: the Connect conformance suite (connectrpc/conformance, runner
// connectconformance) against the project's own RPC plumbing.
//
// 1. installs the runner into .data/go/bin when it is missing (go install, so Go is needed once);
// 2. generates conformance/gen from the vendored protos (buf generate, protoc-gen-es) and
//    typechecks conformance/ against it (npm run typecheck cannot: gen/ is not committed);
// 3. runs every entry of `runs` below in turn, its output passed through, then prints each run's
//    summary and exits non-zero if any run failed.
//
// Extra arguments go to every runner, e.g. `npm run test:conformance -- --run 'Basic/**' --trace`;
// `--only <label>` runs one entry. CONFORMANCE_LOG_LEVEL=debug makes the server under test log (stderr).
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const runnerModule = "connectrpc.com/conformance/cmd/connectconformance";
const runnerVersion = "v1.0.7";
const goBin = join(root, ".data", "go", "bin");
const runner = join(goBin, "connectconformance");

/** One invocation of the runner: what it claims (config), what it starts, what may fail and why. */
interface ConformanceRun {
  /** Names the run in the summary and for --only. */
  label: string;
  /** "server": the runner's reference client calls `command`'s server; "client": the reverse. */
  mode: "server" | "client";
  /** Runner config (features claimed), relative to the repository root. */
  config: string;
  /** Test-case patterns expected to fail, one a line with a comment saying why; relative to the root. */
  knownFailing: string;
  /** The program under test, run from the repository root. */
  command: string[];
}

// As the image runs the services: Node strips the types itself.
const node = (script: string) => [process.execPath, script];

const runs: ConformanceRun[] = [
  {
    label: "server",
    mode: "server",
    config: "conformance/server.yaml",
    knownFailing: "conformance/known-failing-server.txt",
    command: node("conformance/src/server-under-test.ts"),
  },
  {
    label: "gateway",
    mode: "server",
    config: "conformance/gateway.yaml",
    knownFailing: "conformance/known-failing-gateway.txt",
    command: node("conformance/src/gateway-under-test.ts"),
  },
];

const { only, runnerArgs } = parseArgs(process.argv.slice(2));
const selected = only ? runs.filter((r) => r.label === only) : runs;
if (selected.length === 0) fail(`no conformance run is labelled "${only}"; there are: ${runs.map((r) => r.label).join(", ")}`);

ensureRunner();
generate();

const results: { run: ConformanceRun; code: number; seconds: number; summary: string[] }[] = [];
for (const run of selected) {
  console.log(`\n== conformance: ${run.label} (${run.mode} mode, ${run.config}) ==`);
  results.push({ run, ...(await execute(run)) });
}

console.log("\n== conformance summary ==");
for (const { run, code, seconds, summary } of results) {
  const verdict = code === 0 ? "ok" : `FAILED (runner exit code ${code})`;
  console.log(`${run.label}: ${verdict}, ${seconds.toFixed(1)} s`);
  for (const line of summary) console.log(`  ${line}`);
}
process.exit(results.every((r) => r.code === 0) ? 0 : 1);

function parseArgs(args: string[]): { only?: string; runnerArgs: string[] } {
  const i = args.indexOf("--only");
  if (i < 0) return { runnerArgs: args };
  const only = args[i + 1];
  if (!only) fail("--only needs a run label");
  return { only, runnerArgs: [...args.slice(0, i), ...args.slice(i + 2)] };
}

/** The runner at its pinned version in .data/go/bin, installed with `go install` when missing. */
function ensureRunner(): void {
  if (existsSync(runner)) {
    const version = spawnSync(runner, ["--version"], { encoding: "utf8" }).stdout?.trim();
    if (version === `connectconformance ${runnerVersion}`) return;
    console.log(`${runner} is ${version || "unusable"}; installing ${runnerVersion}`);
  }
  const go = spawnSync("go", ["version"], { encoding: "utf8" });
  if (go.error) {
    fail(
      `the conformance runner (connectconformance ${runnerVersion}) is not installed and \`go\` is not on PATH.\n` +
        `Install Go (https://go.dev/dl/; the runner needs Go 1.26, which \`go\` fetches itself with GOTOOLCHAIN=auto), or put the\n` +
        `release binary (https://github.com/connectrpc/conformance/releases/tag/${runnerVersion}) at ${runner}.`,
    );
  }
  console.log(`installing ${runnerModule}@${runnerVersion} into ${goBin} (${go.stdout.trim()})`);
  const install = spawnSync("go", ["install", `${runnerModule}@${runnerVersion}`], {
    stdio: "inherit",
    env: { ...process.env, GOBIN: goBin },
  });
  if (install.status !== 0) fail(`go install ${runnerModule}@${runnerVersion} failed`);
}

/** conformance/gen from conformance/proto, with the project's own buf and protoc-gen-es. */
function generate(): void {
  const bin = join(root, "node_modules", ".bin");
  const buf = spawnSync(join(bin, "buf"), ["generate"], {
    cwd: join(root, "conformance"),
    stdio: "inherit",
    env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ""}` },
  });
  if (buf.status !== 0) fail("buf generate (conformance/buf.gen.yaml) failed; run npm ci first?");
  const tsc = spawnSync(join(bin, "tsc"), ["-p", "conformance", "--noEmit"], { cwd: root, stdio: "inherit" });
  if (tsc.status !== 0) fail("conformance/ does not typecheck (tsc -p conformance)");
}

/** Runs the runner for one entry, passing its output through and keeping its summary lines. */
function execute(run: ConformanceRun): Promise<{ code: number; seconds: number; summary: string[] }> {
  const args = [
    ...["--mode", run.mode, "--conf", run.config, "--known-failing", `@${run.knownFailing}`],
    ...["-v", ...runnerArgs, "--", ...run.command],
  ];
  console.log(`$ ${[relativeRunner(), ...args.map(quote)].join(" ")}`);
  const started = performance.now();
  const child = spawn(runner, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
    process.stdout.write(chunk);
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
    process.stderr.write(chunk);
  });
  return new Promise((done) => {
    child.once("error", (err) => fail(`cannot start ${runner}: ${err.message}`));
    child.once("close", (code, signal) => {
      const summary = output
        .split("\n")
        .filter((line) => /^Total cases:|^\d+ passed, \d+ failed|failed as expected|could not be run|^\(\d+ /.test(line.trim()));
      done({ code: code ?? (signal ? 128 : 1), seconds: (performance.now() - started) / 1000, summary: summary.map((l) => l.trim()) });
    });
  });
}

function relativeRunner(): string {
  return runner.startsWith(root) ? `.${runner.slice(root.length)}` : runner;
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

function fail(message: string): never {
  console.error(`test:conformance: ${message}`);
  process.exit(1);
}
