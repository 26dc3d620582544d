// Each service's start: ms from spawn until it answers ready, CPU it spent getting there, and its RSS
// once idle, as devstack/src/stack.ts starts it for the fault suite and the bench, on one fresh
// PostgreSQL and Kafka broker under .data/service-start/. Rounds alternate nothing: run it in two
// checkouts in turn to compare them.   npx tsx bench/service-start.ts [rounds=5] [idle seconds=5]
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import type { ServiceProcess } from "@invoicer/devstack/service-process";
import { assembleServices, startInfrastructure } from "@invoicer/devstack/stack";

const [rounds = 5, idleSeconds = 5] = process.argv.slice(2).map(Number);
const dataDir = resolve(".data", "service-start");
const logDir = join(dataDir, "logs");

interface Sample {
  readyMs: number;
  startCpuMs: number;
  idleRssMb: number;
}

/** CPU ms (user + system, every thread) of a running process so far, from /proc: 100 ticks a second. */
const cpuMs = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, "latin1").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
};
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "latin1"))![1]) / 1024;

/** The server first (the others need it), then the gateway and the consumer. */
async function services(databaseUrl: string, brokers: string) {
  const { servers, gateways, consumers } = await assembleServices({
    databaseUrl,
    brokers,
    servers: [{ name: "server" }],
    gateways: [{ name: "gateway" }],
    consumers: [{ name: "consumer", env: { CONSUMER_GROUP: "service-start" } }],
    env: { KAFKA_TOPIC: "service-start" },
    logDir,
  });
  return [...servers, ...gateways, ...consumers];
}

/** Starts each service in turn (the server first: the others need it), then measures them idle and stops them. */
async function round(all: ServiceProcess[]): Promise<Map<string, Sample>> {
  const started = new Map<string, { readyMs: number; startCpuMs: number }>();
  try {
    for (const s of all) {
      const readyMs = await s.start();
      started.set(s.name, { readyMs, startCpuMs: cpuMs(s.pid()!) });
    }
    await new Promise((r) => setTimeout(r, idleSeconds * 1000)); // idle is a span of time, not an event
    return new Map(all.map((s) => [s.name, { ...started.get(s.name)!, idleRssMb: rssMb(s.pid()!) }]));
  } finally {
    for (const s of [...all].reverse()) await s.stop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

rmSync(dataDir, { recursive: true, force: true });
mkdirSync(logDir, { recursive: true });
const infrastructure = await startInfrastructure({ dataDir, postgres: { database: "service_start" } });
try {
  const all = await services(infrastructure.postgres.url, infrastructure.kafka.brokers);
  await round(all); // unmeasured: migrates the fresh database and fills the file cache
  const samples: Map<string, Sample>[] = [];
  for (let i = 0; i < rounds; i++) samples.push(await round(all));
  console.log(`node ${process.version}, ${rounds} rounds, RSS after ${idleSeconds} s idle; medians (each round's values)`);
  console.log(`service   ${"ready ms".padEnd(36)}${"start CPU ms".padEnd(36)}idle RSS MB`);
  for (const { name } of all) {
    const col = (key: keyof Sample) => {
      const xs = samples.map((m) => m.get(name)![key]);
      return `${median(xs).toFixed(0)} (${xs.map((x) => x.toFixed(0)).join(" ")})`.padEnd(36);
    };
    console.log(`${name.padEnd(10)}${col("readyMs")}${col("startCpuMs")}${col("idleRssMb")}`);
  }
} finally {
  await infrastructure.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
