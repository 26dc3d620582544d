// `npm run bench`: starts the real processes on a fresh PostgreSQL, broker, database and topic
// (or measures running ones, BENCH_GATEWAY_URL), then measures in one run: CreateInvoice and
// GetInvoice through the gateway in four protocols, straight to the server and as bare SQL;
// event latency at steady rates; the consumers' throughput; memory and start-up of each process.
// Writes bench/results/latest.{json,md,svg} and prints the targets, PASS or MISS.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { basename, dirname, join } from "node:path";
import postgres from "postgres";
import { renderChart } from "./chart.ts";
import {
  groupAtTopicEnd,
  measureConsumerThroughput,
  measureEventLatency,
  outboxDrained,
  topicExists,
  type ConsumerThroughput,
  type EventLatency,
} from "./events.ts";
import { closedLoop } from "./load.ts";
import { cpuWindow, memorySampler, type CpuWindow, type Measured } from "./processes.ts";
import { renderMarkdown } from "./report.ts";
import {
  judge,
  otherFigures,
  ratioConcurrency,
  type BenchResults,
  type Method,
  type PairedRatio,
  type ThroughputCell,
} from "./results-model.ts";
import { loadBenchSettings } from "./settings.ts";
import { startBenchStack, type BenchStack } from "./stack.ts";
import { rpcTarget, sqlFloor, type Known, type Target, type Tenant } from "./targets.ts";

const resultsDir = join("bench", "results");
const settings = loadBenchSettings(process.env);
const startedAt = new Date();
const t0 = performance.now();
const stamp = startedAt.getTime().toString(36); // lower-case letters and digits: a valid database name part
const say = (line: string) => process.stdout.write(`${line}\n`);
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;
const loadAverageAtStart = loadavg();

let stack: BenchStack | undefined;
let finishing = false;
const abandon = async (why: string, code: number) => {
  if (finishing) return;
  finishing = true;
  say(`\nbench: ${why}; stopping the processes it started`);
  await stack?.close();
  process.exit(code);
};
// Every phase is bounded on its own; this is the backstop for the whole run.
const deadline = setTimeout(() => void abandon(`deadline of ${settings.deadlineMs / 1000} s exceeded`, 1), settings.deadlineMs);
process.on("SIGINT", () => void abandon("interrupted", 130));
process.on("SIGTERM", () => void abandon("terminated", 143));

const throughput: ThroughputCell[] = [];
const paired: PairedRatio[] = [];
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const events: EventLatency[] = [];
const consumers: ConsumerThroughput[] = [];
const notes: string[] = [];
const consumerStartupMs: Record<string, number> = {};

try {
  say(`bench: ${cpus().length} CPUs, Node ${process.version}, load average ${loadAverageAtStart.map((l) => l.toFixed(2)).join(" ")}`);
  stack = await startBenchStack(settings, stamp, say);
  const s = stack;
  const startups = Object.entries(s.startupMs).map(([k, v]) => `${k} ${(v / 1000).toFixed(2)} s`);
  say(`bench: stack ready in ${elapsed()}${startups.length > 0 ? ` (${startups.join(", ")})` : ""}`);
  const memory = memorySampler(() => s.measured());
  const mainSql = postgres(s.databaseUrl, { max: 2, onnotice: () => {} });
  const workerTenants = s.tenants.slice(0, settings.tenants);
  const eventTenant = s.tenants[settings.tenants]!;
  const direct = rpcTarget("server", "connect-binary", s.serverUrl, s.internalToken);

  // A moment of quiet for the idle figures, then a few creates so the server's code is compiled.
  await new Promise((r) => setTimeout(r, 1_000));
  memory.recordIdle();
  for (let i = 0; i < 20; i++) await direct.create(workerTenants[i % workerTenants.length]!, `bench-first-${stamp}-${i}`);
  const [sampleEvent] = await mainSql<{ payload: Buffer }[]>`select payload from outbox where event_type = 'invoice.issued' limit 1`;

  if (settings.sections.has("throughput")) {
    say(`\n== throughput and latency (${settings.warmupMs} ms warm-up, ${settings.cellMs} ms window per cell) ==`);
    memory.phase("throughput cells");
    const floor = sqlFloor(s.floorDatabaseUrl, settings.poolSize, sampleEvent!.payload);
    const allTargets: Target[] = [
      floor,
      direct,
      rpcTarget("server", "grpc", s.serverUrl, s.internalToken),
      rpcTarget("gateway", "connect-binary", s.gatewayUrl, s.internalToken),
      rpcTarget("gateway", "connect-json", s.gatewayUrl, s.internalToken),
      rpcTarget("gateway", "grpc-web", s.gatewayUrl, s.internalToken),
      rpcTarget("gateway", "grpc", s.gatewayUrl, s.internalToken),
    ];
    const targets = allTargets.filter((t) => settings.targets.length === 0 || settings.targets.includes(t.id));
    const methods = (["CreateInvoice", "GetInvoice"] as const).filter((m) => settings.methods.length === 0 || settings.methods.includes(m));
    const known: Known[] = [];
    const floorKnown: Known[] = [];
    const remember = (pool: Known[], k: Known) =>
      pool.length < 20_000 ? pool.push(k) : (pool[Math.floor(Math.random() * pool.length)] = k);
    let cellNumber = 0;

    /** Measures one cell; a `round` of a paired comparison is kept apart from the grid. */
    const runCell = async (
      method: Method,
      target: Target,
      concurrency: number,
      tenancy: ThroughputCell["tenancy"],
      round?: number,
    ): Promise<ThroughputCell> => {
      const isFloor = target === floor;
      const tenants = isFloor ? s.floorTenants.slice(0, settings.tenants) : workerTenants;
      const pool = isFloor ? floorKnown : known;
      const cellKey = `${stamp}-${cellNumber++}`;
      let seq = 0;
      const call =
        method === "CreateInvoice"
          ? async (w: number) => {
              const tenant: Tenant = tenancy === "spread" ? tenants[w % tenants.length]! : tenants[0]!;
              remember(pool, { tenant, id: await target.create(tenant, `bench-${cellKey}-${seq++}`) });
            }
          : () => target.get(pool[Math.floor(Math.random() * pool.length)]!);
      const measured: Measured[] = s.measured();
      let endWindow: (() => CpuWindow) | undefined;
      let cpu: CpuWindow | undefined;
      const load = await closedLoop({
        concurrency,
        warmupMs: settings.warmupMs,
        measureMs: settings.cellMs,
        call,
        onWindow: (edge) => (edge === "start" ? (endWindow = cpuWindow(measured, cpus().length)) : (cpu = endWindow?.())),
      });
      const cpuMsPerRequest: Record<string, number> = {};
      for (const [name, used] of Object.entries(cpu?.byProcess ?? {})) if (load.requests > 0) cpuMsPerRequest[name] = used / load.requests;
      const cell: ThroughputCell = {
        method,
        tenancy,
        target: target.id,
        label: target.label,
        concurrency,
        requests: load.requests,
        errors: load.errors,
        firstError: load.firstError,
        rps: load.rps,
        p50Ms: load.latencyMs.p50,
        p99Ms: load.latencyMs.p99,
        meanMs: load.latencyMs.mean,
        maxMs: load.latencyMs.max,
        cpuMsPerRequest,
        othersCpuPercent: cpu?.othersPercent ?? NaN,
      };
      if (round === undefined) throughput.push(cell);
      const errors = cell.errors > 0 || (cell.requests === 0 && cell.firstError) ? `  ${cell.errors} errors (${cell.firstError})` : "";
      const who = `${target.label}${tenancy === "one-tenant" ? " (one tenant)" : ""}${round === undefined ? "" : ` (round ${round})`}`;
      const others = `others ${cell.othersCpuPercent.toFixed(0).padStart(3)} % CPU`;
      say(
        `${method.padEnd(13)} c=${String(concurrency).padEnd(3)} ${who.padEnd(36)} ${cell.rps.toFixed(0).padStart(6)}/s  p50 ${cell.p50Ms.toFixed(2).padStart(7)} ms  p99 ${cell.p99Ms.toFixed(2).padStart(7)} ms  ${others}${errors}`,
      );
      // One cell's outbox rows must not be published during the next cell's window.
      if (method === "CreateInvoice" && !isFloor && !(await outboxDrained(mainSql, 20_000)))
        say("  (the relay had not caught up after 20 s; moving on)");
      return cell;
    };

    for (const method of methods) {
      if (method === "GetInvoice") {
        // GetInvoice reads invoices the CreateInvoice cells made; without those, a few are made here.
        for (let i = known.length; i < 200; i++) {
          const tenant = workerTenants[i % workerTenants.length]!;
          known.push({ tenant, id: await direct.create(tenant, `bench-get-${stamp}-${i}`) });
        }
        for (let i = floorKnown.length; i < 200 && targets.includes(floor); i++) {
          const tenant = s.floorTenants[i % settings.tenants]!;
          floorKnown.push({ tenant, id: await floor.create(tenant, `bench-get-${stamp}-${i}`) });
        }
      }
      // Concurrency outermost: the figures compared in a ratio are taken minutes apart at most.
      for (const concurrency of settings.concurrency) for (const target of targets) await runCell(method, target, concurrency, "spread");
      if (method === "CreateInvoice") {
        const c = settings.concurrency.includes(ratioConcurrency) ? ratioConcurrency : Math.max(...settings.concurrency);
        for (const target of [floor, allTargets[3]!].filter((t) => targets.includes(t))) await runCell(method, target, c, "one-tenant");
      }
    }
    // The two throughput targets again, each pair back to back in alternating order, so that other
    // work on the machine falls on both sides of a ratio alike; the median of the rounds is judged.
    const c = [...settings.concurrency].sort((a, b) => Math.abs(a - ratioConcurrency) - Math.abs(b - ratioConcurrency))[0];
    const pairs: [string, Method, Target, Target][] = [
      ["GetInvoice gateway / direct (Connect binary)", "GetInvoice", allTargets[3]!, direct],
      ["CreateInvoice gateway Connect binary / SQL floor", "CreateInvoice", allTargets[3]!, floor],
    ];
    for (const [name, method, over, under] of pairs) {
      if (c === undefined || settings.pairRounds === 0 || !methods.includes(method) || !targets.includes(over) || !targets.includes(under))
        continue;
      const inGrid = (t: Target) =>
        throughput.find((x) => x.method === method && x.target === t.id && x.concurrency === c && x.tenancy === "spread")!;
      const ratios = [inGrid(over).rps / inGrid(under).rps];
      for (let round = 1; round <= settings.pairRounds; round++) {
        const order = round % 2 === 1 ? [under, over] : [over, under];
        const [first, second] = [
          await runCell(method, order[0]!, c, "spread", round),
          await runCell(method, order[1]!, c, "spread", round),
        ];
        ratios.push(order[0] === over ? first.rps / second.rps : second.rps / first.rps);
      }
      paired.push({ name, method, over: over.id, under: under.id, concurrency: c, ratios, median: median(ratios) });
      say(`  ${name} at c=${c}: ${ratios.map((r) => r.toFixed(2)).join(", ")} -> median ${median(ratios).toFixed(2)}`);
    }
    await Promise.all(allTargets.filter((t) => t !== direct).map((t) => t.close()));
    say(`throughput cells done at ${elapsed()}`);
  }

  if (settings.sections.has("events")) {
    say(`\n== event latency (creates and WatchInvoices through the gateway; a kafkajs reader of the bench) ==`);
    if (!(await topicExists(s.brokers, s.topic, 30_000))) throw new Error(`topic ${s.topic} does not exist`);
    const eventOptions = {
      gatewayUrl: s.gatewayUrl,
      tenant: eventTenant,
      brokers: s.brokers,
      topic: s.topic,
      rates: settings.eventRates,
      durationMs: settings.eventMs,
      warmupMs: settings.eventWarmupMs,
      settleMs: settings.settleMs,
      measured: () => s.measured(),
      say,
    };
    if (s.managed && settings.sections.has("throughput")) {
      // The throughput cells left tens of thousands of rows behind: their autovacuum runs now, not during the measurement.
      say("  vacuuming after the throughput cells ...");
      await outboxDrained(mainSql, 30_000);
      await mainSql.unsafe("vacuum analyze");
      const floorSql = postgres(s.floorDatabaseUrl, { max: 1, onnotice: () => {} });
      await floorSql.unsafe("vacuum analyze").finally(() => floorSql.end());
    }
    if (s.managed) {
      // First with nothing rendering: the relay -> Kafka path alone, for comparison.
      say("  consumers stopped (commit -> consumer only):");
      memory.phase("events");
      events.push(...(await measureEventLatency({ ...eventOptions, consumers: 0 })));
      memory.phase(undefined);
      await outboxDrained(mainSql, 30_000);
      const group = `bench-documents-events-${stamp}`;
      await groupAtTopicEnd(s.brokers, group, s.topic);
      const [first, second] = await s.startConsumers(2, group);
      consumerStartupMs["consumer-1"] = first!;
      consumerStartupMs["consumer-2"] = second!;
      await new Promise((r) => setTimeout(r, 1_000));
      memory.recordIdle(["consumer-1", "consumer-2"]);
    } else {
      notes.push("Event latency used the consumers already running (BENCH_GATEWAY_URL).");
    }
    memory.phase("events");
    say(`  ${s.managed ? 2 : "the running"} consumers rendering:`);
    events.push(...(await measureEventLatency({ ...eventOptions, consumers: s.managed ? 2 : 1 })));
    for (const e of events) {
      say(
        `  ${e.rate}/s, ${e.consumers} consumers: ${e.sent - e.failed} created, ${e.received} received, ${e.ready} READY${e.settled ? "" : " (not all within the settle time)"}; ` +
          `commit->consumer p50 ${e.commitToReceivedMs.p50.toFixed(1)} p99 ${e.commitToReceivedMs.p99.toFixed(1)} ms` +
          (e.consumers > 0 ? `; create->READY p50 ${e.createToReadyMs.p50.toFixed(0)} p99 ${e.createToReadyMs.p99.toFixed(0)} ms` : "") +
          ` (machine CPU ${e.machineCpuPercent.toFixed(0)} %, others ${e.othersCpuPercent.toFixed(0)} %)`,
      );
    }
    say(`event latency done at ${elapsed()}`);
  }

  if (settings.sections.has("consumers") && s.managed) {
    say(`\n== consumer throughput (${settings.consumerInvoices} issued invoices pre-loaded with the consumers stopped) ==`);
    const issue = async (count: number) => {
      const ids: string[] = [];
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < count; i = next++)
          ids.push(await direct.create(workerTenants[i % workerTenants.length]!, `bench-backlog-${stamp}-${consumers.length}-${i}`));
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      return ids;
    };
    for (const count of [1, 2]) {
      memory.phase(undefined);
      const result = await measureConsumerThroughput({
        consumers: count,
        invoices: settings.consumerInvoices,
        brokers: s.brokers,
        topic: s.topic,
        sql: mainSql,
        issue,
        startConsumers: async (n, group, together) => {
          const times = await s.startConsumers(n, group, together);
          memory.phase("consumer drain");
          return times;
        },
        stopConsumers: () => s.stopConsumers(),
        settleMs: settings.settleMs,
        measured: () => s.measured(),
      });
      consumers.push(result);
      say(
        `  ${count} consumer${count > 1 ? "s" : ""}: ${result.ready}/${result.invoices} READY, ${result.renderedPerSecond.toFixed(1)} rendered/s ` +
          `(first -> last document ${(result.firstToLastMs / 1000).toFixed(2)} s; spawn -> all READY ${(result.spawnToAllReadyMs / 1000).toFixed(2)} s; others ${result.othersCpuPercent.toFixed(0)} % CPU)`,
      );
    }
    await s.stopConsumers();
    say(`consumer throughput done at ${elapsed()}`);
  } else if (settings.sections.has("consumers")) {
    notes.push("Consumer throughput was not measured: the bench does not manage the consumers when BENCH_GATEWAY_URL is set.");
  }

  memory.phase(undefined);
  memory.stop();
  await mainSql.end();
  await direct.close();
  const processes = s.measured().map((m) => ({
    name: m.name,
    startupMs: s.startupMs[m.name] ?? consumerStartupMs[m.name],
    idleMb: memory.idle.get(m.name),
    peakMb: memory.peaks.get(m.name) ?? {},
  }));
  finishing = true;
  await s.close();
  clearTimeout(deadline);
  writeResults(processes, s.managed);
} catch (err) {
  say(`\nbench failed at ${elapsed()}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  finishing = true;
  await stack?.close();
  clearTimeout(deadline);
  process.exit(1);
}

function git(args: string[]): string {
  try {
    return execFileSync("git", args, { stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .trim();
  } catch {
    return "";
  }
}

function writeResults(processes: BenchResults["processes"], managed: boolean) {
  notes.push(
    "Closed loop: each of N workers calls again as soon as its call returns. Throughput is the calls completed in the window divided by the window; latency is each call's duration on the client, encoding and decoding included. Warm-up calls are not counted.",
    `Worker w uses tenant w mod ${settings.tenants}, so no two workers queue on the same tenant's counter row; the one-tenant rows show that queue.`,
    "Direct: the server called with the internal token and tenant header, as the gateway calls it (Connect binary over HTTP/1.1, gRPC over HTTP/2; the gateway itself talks HTTP/2 to the server).",
    `SQL floor: issueInvoice's two statements (idempotency claim with counter upsert; invoice, lines, outbox row and pg_notify) in one transaction through postgres.js with a pool of ${settings.poolSize} (the server's DATABASE_POOL_SIZE), the same statement text as prepared statements, as the server sends them, in a database of its own so no relay or watcher reacts. Its GET is one select by primary key; GetInvoice reads the invoice and then its lines (two statements).`,
    "The document consumers are stopped during the throughput cells (the relay still publishes every event to Kafka); after each CreateInvoice cell the bench waits until the relay has published every outbox row. Before the event section it runs VACUUM ANALYZE, so that autovacuum of the rows the throughput cells left does not run into the event measurements.",
    "commit -> consumer: the bench's own kafkajs consumer (a group of its own) receives each issued event; the figure is its receive time minus the event's occur_time. occur_time is set inside the create transaction, before the outbox insert and COMMIT, so the figure slightly overstates commit -> received; response -> consumer (receive time minus the moment the create call returned, after commit and the response's trip back through the gateway) understates it. Same host, same clock.",
    "Event latency is measured twice at each rate: first with the document consumers stopped (the relay -> Kafka path with nothing rendering), then with two consumers rendering, the system as deployed; the targets are judged on the second.",
    "create -> READY: from the start of the create call to the documentReady event on a WatchInvoices stream through the gateway: create, relay, Kafka, render (PDF and DOCX), AttachDocuments, NOTIFY, watch fan-out and the gateway.",
    "Consumer throughput: invoices READY per second between the first and the last stored document (transaction time of each AttachDocuments). The topic has 3 partitions (the default), so two consumers split the work 2:1.",
    "Memory: VmRSS of the Node services and the Kafka JVM; for PostgreSQL the sum of PSS over the postmaster and its backends (shared buffers counted once). Sampled every 500 ms; idle is after start-up, before any load. Start-up is spawn -> healthy (server: gRPC health SERVING; gateway and consumers: /readyz), PostgreSQL including initdb and Kafka including storage format.",
    `The services log at LOG_LEVEL=${settings.logLevel} to files under bench/results/tmp/logs, as they would in production. The machine is shared with other work: figures are noisy.`,
  );
  const results: BenchResults = {
    meta: {
      startedAt: startedAt.toISOString(),
      totalMs: performance.now() - t0,
      commit: git(["rev-parse", "--short", "HEAD"]) || "unknown",
      dirty: git(["status", "--porcelain"]) !== "",
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? "unknown",
      platform: `${process.platform} ${process.arch}`,
      loadAverageAtStart,
      managed,
      settings: {
        warmup: `${settings.warmupMs} ms`,
        window: `${settings.cellMs} ms`,
        concurrency: settings.concurrency,
        tenants: settings.tenants,
        "pool size": settings.poolSize,
        "event rates": settings.eventRates.map((r) => `${r}/s`),
        "event window": `${settings.eventMs} ms`,
        "backlog per consumer run": settings.consumerInvoices,
        "log level": settings.logLevel,
      },
    },
    throughput,
    paired,
    events,
    consumers,
    processes,
    ratios: [],
    notes,
  };
  results.ratios = judge(results);
  mkdirSync(dirname(join(resultsDir, settings.output)), { recursive: true });
  const out = settings.output;
  writeFileSync(join(resultsDir, `${out}.json`), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(resultsDir, `${out}.md`), renderMarkdown(results, `${basename(out)}.svg`));
  writeFileSync(join(resultsDir, `${out}.svg`), renderChart(results));

  say(`\n== targets ==`);
  for (const r of results.ratios) {
    const value = Number.isNaN(r.value) ? "not measured" : r.value.toFixed(r.value < 10 ? 2 : 1);
    say(`${r.pass ? "PASS" : "MISS"}  ${r.name}: ${value} (target ${r.target}; ${r.detail})`);
  }
  for (const o of otherFigures(results)) say(`      ${o.name}: ${o.value.toFixed(2)}`);
  say(`\nwritten bench/results/${out}.json, ${out}.md, ${out}.svg in ${elapsed()}`);
}
