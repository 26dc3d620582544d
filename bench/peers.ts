// Issue 16, first step: peer tools as the load generators and Envoy as the proxy to beat.
//   npx tsx bench/peers.ts [--profile] [--seconds 10] [--warmup 3] [--rounds 3] [--concurrency 32]
// Starts the bench's own stack (bench/stack.ts: local PostgreSQL and Kafka, the server and the
// gateway as processes), seeds invoices, then per round: pgbench replaying GetInvoice's two reads
// (the SQL floor), ghz GetInvoice straight to the server, through the gateway and through Envoy
// (one worker), all at 32 concurrent calls, with the CPU time of the server and the proxies read
// from /proc. Prints the target ratios as PASS or MISS and writes bench/results/peers.{json,md}.
// It never fails on a MISS; it exits non-zero only when it could not measure.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { availableParallelism, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { freePort } from "@invoicer/devstack/ports";
import { internalTokenHeader, tenantHeader } from "@invoicer/platform/internal-auth";
import { peerTools } from "./peer-tools.ts";
import { envoyConfig, getInvoiceStatements, runGhz, runPgbench, startEnvoy, type EnvoyProcess, type PeerRun } from "./peer-runs.ts";
import { measuredPid, type Measured } from "./processes.ts";
import { loadBenchSettings } from "./settings.ts";
import { startBenchStack, tmpDir, type BenchStack } from "./stack.ts";
import { rpcTarget } from "./targets.ts";
import { closedLoop } from "./load.ts";

const { values: flags } = parseArgs({
  options: {
    profile: { type: "boolean", default: false },
    seconds: { type: "string", default: "10" },
    warmup: { type: "string", default: "3" },
    rounds: { type: "string", default: "3" },
    concurrency: { type: "string", default: "32" },
    "skip-grpc-web": { type: "boolean", default: false },
  },
});
const seconds = Number(flags.seconds);
const warmupS = Number(flags.warmup);
const rounds = Number(flags.rounds);
const concurrency = Number(flags.concurrency);
for (const [name, n] of Object.entries({ seconds, rounds, concurrency }))
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
if (!Number.isInteger(warmupS) || warmupS < 0) throw new Error("--warmup must be a whole number of seconds");

const startedAt = new Date();
const loadAtStart = loadavg();
const stamp = `p${startedAt.getTime().toString(36)}`;
const say = (line: string) => console.log(`[${((performance.now() - runStart) / 1000).toFixed(1).padStart(6)} s] ${line}`);
const runStart = performance.now();
const profileDir = resolve(".data", "profiles");
const workDir = join(tmpDir, `peers-${stamp}`);
const seededInvoices = 16;

type PathId = "floor" | "server" | "gateway" | "envoy" | "gateway-grpc-web" | "envoy-grpc-web";
const allPaths: { id: PathId; label: string; proxy?: "gateway" | "envoy" }[] = [
  { id: "floor", label: "SQL floor: GetInvoice's 2 reads (pgbench)" },
  { id: "server", label: "server direct, gRPC (ghz)" },
  { id: "gateway", label: "gateway -> server, gRPC (ghz)", proxy: "gateway" },
  { id: "envoy", label: "Envoy -> server, gRPC (ghz)", proxy: "envoy" },
  // ghz speaks gRPC only; gRPC-web comes from the bench's own Node load generator (load.ts), in this process.
  { id: "gateway-grpc-web", label: "gateway -> server, gRPC-web (bench's Node client)", proxy: "gateway" },
  { id: "envoy-grpc-web", label: "Envoy -> server, gRPC-web (bench's Node client)", proxy: "envoy" },
];
const paths = flags["skip-grpc-web"] ? allPaths.filter((p) => !p.id.endsWith("grpc-web")) : allPaths;

interface PathResult {
  runs: PeerRun[];
  /** CPU ms used in the measured windows, by process (server, gateway, envoy, postgres). */
  cpuMs: Record<string, number>;
}

const tools = peerTools(say);
say(`peers: ${tools.versions.ghz}; ${tools.versions.pgbench}; ${tools.versions.envoy}`);

const settings = { ...loadBenchSettings({ BENCH_TENANTS: "1", BENCH_CPU_PROFILE: flags.profile ? "server,gateway" : "" }), profileDir };
let stack: BenchStack | undefined;
let envoy: EnvoyProcess | undefined;
let exitCode = 0;
const deadline = setTimeout(
  () => {
    console.error("bench:peers: deadline passed; stopping");
    process.exit(3);
  },
  (10 * 60 + rounds * paths.length * (seconds + warmupS + 5)) * 1000,
);
deadline.unref();

try {
  stack = await startBenchStack(settings, stamp, say);
  const tenant = stack.tenants[0]!;
  const direct = rpcTarget("server", "grpc", stack.serverUrl, stack.internalToken);
  const ids: string[] = [];
  try {
    for (let i = 0; i < seededInvoices; i++) ids.push(await direct.create(tenant, `peers-${stamp}-${i}`));
  } finally {
    await direct.close();
  }
  say(`seeded ${ids.length} invoices for tenant ${tenant.id}`);
  const statements = await getInvoiceStatements(stack.databaseUrl, tenant.id, ids[0]!);

  const serverPort = Number(new URL(stack.serverUrl).port);
  const envoyPort = await freePort();
  envoy = await startEnvoy(
    tools.envoy,
    envoyConfig({
      listenPort: envoyPort,
      adminPort: await freePort(),
      serverPort,
      internalToken: stack.internalToken,
      tenantId: tenant.id,
    }),
    workDir,
    join(tmpDir, "logs", `${stamp}-envoy.log`),
  );
  say(`Envoy (one worker) on 127.0.0.1:${envoyPort}`);

  const envoyPid = envoy.pid()!;
  const measured: Measured[] = [
    ...stack.measured().filter((m) => ["server", "gateway", "postgres"].includes(m.name)),
    measuredPid("envoy", envoyPid),
  ];
  const results = new Map<PathId, PathResult>(paths.map((p) => [p.id, { runs: [], cpuMs: {} }]));
  const host = (url: string) => new URL(url).host;

  for (let round = 1; round <= rounds; round++) {
    for (const path of paths) {
      const result = results.get(path.id)!;
      let before = new Map<string, number | undefined>();
      const onWindow = (edge: "start" | "end") => {
        if (edge === "start") before = new Map(measured.map((m) => [m.name, m.cpuMs()]));
        else
          for (const m of measured) {
            const [b, a] = [before.get(m.name), m.cpuMs()];
            if (b !== undefined && a !== undefined) result.cpuMs[m.name] = (result.cpuMs[m.name] ?? 0) + (a - b);
          }
      };
      const ghz = (target: string, metadata: Record<string, string>) =>
        runGhz({ ghz: tools.ghz, target, metadata, ids, concurrency, connections: 1, cpus: 1, warmupS, seconds, onWindow });
      say(`round ${round}/${rounds}: ${path.label}, ${concurrency} concurrent, ${warmupS} s warm-up + ${seconds} s ...`);
      const run =
        path.id === "floor"
          ? await runPgbench({
              pgbench: tools.pgbench,
              databaseUrl: stack.databaseUrl,
              statements,
              tenantId: tenant.id,
              invoiceId: ids[0]!,
              clients: concurrency,
              threads: 1,
              warmupS,
              seconds,
              workDir,
              onWindow,
            })
          : path.id === "server"
            ? await ghz(host(stack.serverUrl), { [internalTokenHeader]: stack.internalToken, [tenantHeader]: tenant.id })
            : path.id === "gateway"
              ? await ghz(host(stack.gatewayUrl), { authorization: `Bearer ${tenant.apiKey}` })
              : path.id === "envoy"
                ? await ghz(`127.0.0.1:${envoyPort}`, {})
                : await grpcWeb(path.id === "gateway-grpc-web" ? stack.gatewayUrl : `http://127.0.0.1:${envoyPort}`, onWindow);
      result.runs.push(run);
      const cut = run.cutAtEnd ? `, ${run.cutAtEnd} cut at the end` : "";
      say(
        `  ${run.callsPerSecond.toFixed(0)} calls/s, p50 ${run.p50Ms.toFixed(2)} ms, p99 ${run.p99Ms.toFixed(2)} ms, ${run.errors} errors${run.firstError ? ` (${run.firstError})` : ""}${cut}`,
      );
    }
  }

  async function grpcWeb(baseUrl: string, onWindow: (edge: "start" | "end") => void): Promise<PeerRun> {
    // Through Envoy the API key is ignored: Envoy sets the internal token and the tenant itself.
    const target = rpcTarget("gateway", "grpc-web", baseUrl, stack!.internalToken);
    try {
      const load = await closedLoop({
        concurrency,
        warmupMs: warmupS * 1000,
        measureMs: seconds * 1000,
        call: (w) => target.get({ tenant, id: ids[w % ids.length]! }),
        onWindow,
      });
      return {
        calls: load.requests,
        errors: load.errors,
        firstError: load.firstError,
        callsPerSecond: load.rps,
        p50Ms: load.latencyMs.p50,
        p99Ms: load.latencyMs.p99,
        windowMs: load.windowMs,
      };
    } finally {
      await target.close();
    }
  }

  const report = summarise(results, statements);
  const { table, targets } = render(report);
  console.log(`\n${table}\n\n${targets}\n`);
  // A profiled run is slower: its figures go next to the scratch files, not over the real ones.
  const out = flags.profile ? workDir : resolve("bench", "results");
  mkdirSync(out, { recursive: true });
  const json = {
    startedAt: startedAt.toISOString(),
    durationS: Math.round((performance.now() - runStart) / 1000),
    settings: {
      concurrency,
      seconds,
      warmupS,
      rounds,
      seededInvoices,
      ghzConnections: 1,
      ghzCpus: 1,
      pgbenchThreads: 1,
      envoyConcurrency: 1,
      serverPoolSize: settings.poolSize,
    },
    machine: { cores: availableParallelism(), node: process.version, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadavg() },
    versions: tools.versions,
    ...report,
  };
  writeFileSync(join(out, "peers.json"), `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(
    join(out, "peers.md"),
    [
      "# bench: peers (issue 16, first step)",
      "",
      `${startedAt.toISOString()}, ${json.machine.cores} cores (load average ${loadAtStart[0]!.toFixed(1)} at the start: other jobs share them), Node ${process.version}; ${tools.versions.ghz}, ${tools.versions.pgbench}, ${tools.versions.envoy} (--concurrency 1).`,
      `GetInvoice at ${concurrency} concurrent calls, ${rounds} round(s) of ${warmupS} s warm-up + ${seconds} s per path, paths side by side in each round; calls/s and latencies are medians over the rounds, CPU per call is over all measured calls of a path.`,
      "",
      table,
      "",
      targets,
      "",
      "SQL floor statements (captured from the server's findInvoice, pgbench -M extended):",
      "",
      "```sql",
      ...statements.map((s) => `${s};`),
      "```",
      "",
    ].join("\n"),
  );
  say(`wrote ${join(out, "peers.json")} and peers.md (${json.durationS} s in all)`);
} catch (err) {
  console.error(err);
  exitCode = 1;
} finally {
  await envoy?.stop().catch(() => {});
  await stack?.close();
  if (flags.profile) {
    say(`CPU profiles (written on exit): ${join(profileDir, `${stamp}-server`)} and ${join(profileDir, `${stamp}-gateway`)}`);
    say(`  summary: npx tsx bench/profile-summary.ts ${join(profileDir, `${stamp}-server`)}`);
  }
}
process.exit(exitCode);

interface Row {
  id: PathId;
  label: string;
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  calls: number;
  errors: number;
  /** The proxy's CPU ms per call (gateway or Envoy). */
  proxyCpuMsPerCall?: number;
  serverCpuMsPerCall?: number;
  perRound: number[];
}

interface Target {
  id: string;
  label: string;
  ratio: number;
  goal: string;
  pass: boolean;
  /** False when a path it compares had failed calls (over 0.1 %): the ratio is not judged. */
  valid: boolean;
}

function summarise(results: Map<PathId, PathResult>, statements: string[]) {
  const median = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };
  const rows: Row[] = paths.map((path) => {
    const { runs, cpuMs } = results.get(path.id)!;
    const calls = runs.reduce((a, r) => a + r.calls, 0);
    return {
      id: path.id,
      label: path.label,
      callsPerSecond: median(runs.map((r) => r.callsPerSecond)),
      p50Ms: median(runs.map((r) => r.p50Ms)),
      p99Ms: median(runs.map((r) => r.p99Ms)),
      calls,
      errors: runs.reduce((a, r) => a + r.errors, 0),
      proxyCpuMsPerCall: path.proxy && calls > 0 ? (cpuMs[path.proxy] ?? NaN) / calls : undefined,
      serverCpuMsPerCall: path.id !== "floor" && calls > 0 ? (cpuMs.server ?? NaN) / calls : undefined,
      perRound: runs.map((r) => Math.round(r.callsPerSecond)),
    };
  });
  const row = (id: PathId) => rows.find((r) => r.id === id)!;
  const totalCpu = (r: Row) => (r.serverCpuMsPerCall ?? NaN) + (r.proxyCpuMsPerCall ?? 0);
  const clean = (...ids: PathId[]) => ids.every((id) => row(id).errors <= row(id).calls / 1000);
  const target = (id: string, label: string, ratio: number, goal: string, pass: boolean, compares: PathId[]): Target => ({
    id,
    label,
    ratio,
    goal,
    pass,
    valid: clean(...compares) && Number.isFinite(ratio),
  });
  const floorRatio = row("server").callsPerSecond / row("floor").callsPerSecond;
  const envoyRatio = row("gateway").callsPerSecond / row("envoy").callsPerSecond;
  const cpuRatio = totalCpu(row("gateway")) / totalCpu(row("server"));
  const has = (id: PathId) => rows.some((r) => r.id === id);
  const targets = [
    target("1-server-vs-sql-floor", "GetInvoice server direct / SQL floor (pgbench), calls/s", floorRatio, ">= 0.50", floorRatio >= 0.5, [
      "server",
      "floor",
    ]),
    target("3-gateway-vs-envoy-grpc", "gateway / Envoy, gRPC calls/s", envoyRatio, ">= 1.00", envoyRatio >= 1.0, ["gateway", "envoy"]),
    ...(has("gateway-grpc-web") && has("envoy-grpc-web")
      ? [
          target(
            "3-gateway-vs-envoy-grpc-web",
            "gateway / Envoy, gRPC-web calls/s",
            row("gateway-grpc-web").callsPerSecond / row("envoy-grpc-web").callsPerSecond,
            ">= 1.00",
            row("gateway-grpc-web").callsPerSecond >= row("envoy-grpc-web").callsPerSecond,
            ["gateway-grpc-web", "envoy-grpc-web"],
          ),
        ]
      : []),
    target(
      "3-gateway-cpu-vs-direct",
      "CPU per call through the gateway (gateway + server) / direct (server)",
      cpuRatio,
      "<= 1.10",
      cpuRatio <= 1.1,
      ["gateway", "server"],
    ),
  ];
  const context = {
    envoyCpuVsDirect: totalCpu(row("envoy")) / totalCpu(row("server")),
    gatewayVsEnvoyProxyCpu: (row("gateway").proxyCpuMsPerCall ?? NaN) / (row("envoy").proxyCpuMsPerCall ?? NaN),
  };
  const errors = rows.filter((r) => r.errors > 0).map((r) => `${r.id}: ${r.errors}`);
  return { rows, targets, context, errors, statements };
}

function render({ rows, targets, context, errors }: ReturnType<typeof summarise>) {
  const f = (n: number | undefined, digits = 2) => (n === undefined ? "-" : Number.isNaN(n) ? "n/a" : n.toFixed(digits));
  const table = [
    "| path | calls/s | per round | p50 ms | p99 ms | proxy CPU ms/call | server CPU ms/call |",
    "|---|---:|---|---:|---:|---:|---:|",
    ...rows.map(
      (r) =>
        `| ${r.label} | ${f(r.callsPerSecond, 0)} | ${r.perRound.join(", ")} | ${f(r.p50Ms)} | ${f(r.p99Ms)} | ${f(r.proxyCpuMsPerCall, 3)} | ${f(r.serverCpuMsPerCall, 3)} |`,
    ),
  ].join("\n");
  const lines = [
    "| target | ratio | goal | result |",
    "|---|---:|---|---|",
    ...targets.map(
      (t) => `| ${t.label} | ${f(t.ratio)} | ${t.goal} | ${t.valid ? (t.pass ? "PASS" : "MISS") : "NOT JUDGED (failed calls)"} |`,
    ),
    "",
    `For context: CPU per call through Envoy (Envoy + server) / direct = ${f(context.envoyCpuVsDirect)}; gateway CPU per call / Envoy CPU per call = ${f(context.gatewayVsEnvoyProxyCpu)}.`,
  ];
  if (errors.length > 0) lines.push(`Calls that failed: ${errors.join(", ")}.`);
  return { table, targets: lines.join("\n") };
}
