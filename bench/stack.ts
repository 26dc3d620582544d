// The system under test: a fresh PostgreSQL cluster and Kafka broker, a fresh database and topic,
// the server, the gateway and consumers as child processes whose pids the bench reads. Or, with
// BENCH_GATEWAY_URL and friends, processes already running elsewhere (measured, not managed).
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { startLocalKafka, type LocalKafka } from "@invoicer/devstack/local-kafka";
import { startLocalPostgres, type LocalPostgres } from "@invoicer/devstack/local-postgres";
import { freePort } from "@invoicer/devstack/ports";
import { httpOk, serverServing, serviceProcess, type ServiceProcess } from "../scripts/service-process.ts";
import { createAppDatabase, createTenants } from "@invoicer/devstack/app-database";
import { applyMigrations } from "../server/src/db/migrate.ts";
import { findPid, measuredPid, measuredPostgres, measuredProcess, measuredSelf, type Measured } from "./processes.ts";
import type { BenchSettings } from "./settings.ts";
import type { Tenant } from "./targets.ts";

const dataDir = resolve(".data", "bench");
export const tmpDir = resolve("bench", "results", "tmp");
const logDir = join(tmpDir, "logs");
export const profileDir = join(tmpDir, "prof");

export interface BenchStack {
  /** True when the bench started (and may stop, restart and read the memory of) the processes. */
  managed: boolean;
  gatewayUrl: string;
  serverUrl: string;
  internalToken: string;
  databaseUrl: string;
  floorDatabaseUrl: string;
  brokers: string;
  topic: string;
  /** Tenants of the service database; worker w of a closed loop is tenants[w mod length]. */
  tenants: Tenant[];
  /** The same tenant names in the floor's database. */
  floorTenants: Tenant[];
  /** Spawn -> healthy, in ms, of everything the bench started. */
  startupMs: Record<string, number>;
  /** What the bench reads CPU time and memory of. */
  measured(): Measured[];
  /**
   * Starts `count` consumer processes in `group`, one after the other (so each start-up time is
   * its own) or `together`; resolves with each one's spawn -> ready time.
   */
  startConsumers(count: number, group: string, together?: boolean): Promise<number[]>;
  stopConsumers(): Promise<void>;
  close(): Promise<void>;
}

async function makeTenants(databaseUrl: string, count: number, stamp: string): Promise<Tenant[]> {
  const tenants = await createTenants(
    databaseUrl,
    Array.from({ length: count }, (_, i) => `bench-${stamp}-${i}`),
  );
  return tenants.map((t) => ({ id: t.tenantId, apiKey: t.apiKey }));
}

export async function startBenchStack(settings: BenchSettings, stamp: string, say: (line: string) => void): Promise<BenchStack> {
  mkdirSync(logDir, { recursive: true });
  const cleanups: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => say(`cleanup failed: ${String(err)}`));
    cleanups.length = 0;
  };
  try {
    return settings.reuse ? await reuseStack(settings, stamp, cleanups, close) : await ownStack(settings, stamp, say, cleanups, close);
  } catch (err) {
    await close();
    throw err;
  }
}

async function reuseStack(
  settings: BenchSettings,
  stamp: string,
  cleanups: (() => Promise<void>)[],
  close: () => Promise<void>,
): Promise<BenchStack> {
  const reuse = settings.reuse!;
  const floorDatabaseUrl = await createAppDatabase(reuse.databaseUrl, `bench_${stamp}_floor`);
  const tenantCount = settings.tenants + 1; // the last one is the event phase's
  return {
    managed: false,
    gatewayUrl: reuse.gatewayUrl,
    serverUrl: reuse.serverUrl,
    internalToken: reuse.internalToken,
    databaseUrl: reuse.databaseUrl,
    floorDatabaseUrl,
    brokers: reuse.kafkaBrokers,
    topic: reuse.topic,
    tenants: await makeTenants(reuse.databaseUrl, tenantCount, stamp),
    floorTenants: await makeTenants(floorDatabaseUrl, tenantCount, stamp),
    startupMs: {},
    measured: () => [measuredSelf],
    startConsumers: () => Promise.reject(new Error("consumers are not managed by the bench when BENCH_GATEWAY_URL is set")),
    stopConsumers: async () => {},
    close,
  };
}

async function ownStack(
  settings: BenchSettings,
  stamp: string,
  say: (line: string) => void,
  cleanups: (() => Promise<void>)[],
  close: () => Promise<void>,
): Promise<BenchStack> {
  rmSync(dataDir, { recursive: true, force: true });
  cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  const startupMs: Record<string, number> = {};
  const pgDir = join(dataDir, "postgres");
  const kafkaDir = join(dataDir, "kafka");
  const database = `bench_${stamp}`;

  say("starting PostgreSQL (fresh cluster) ...");
  let since = performance.now();
  const pg: LocalPostgres = await startLocalPostgres({ dataDir: pgDir, port: await freePort(), database });
  cleanups.push(() => pg.stop());
  startupMs.postgres = performance.now() - since;

  say("starting Kafka (fresh KRaft storage) ...");
  since = performance.now();
  const kafka: LocalKafka = await startLocalKafka({ dataDir: kafkaDir, port: await freePort() });
  cleanups.push(() => kafka.stop());
  startupMs["kafka (JVM)"] = performance.now() - since;

  const databaseUrl = pg.url;
  const floorDatabaseUrl = await createAppDatabase(databaseUrl, `${database}_floor`);
  await applyMigrations(databaseUrl); // the local cluster's own database exists already
  const tenantCount = settings.tenants + 1;
  const tenants = await makeTenants(databaseUrl, tenantCount, stamp);
  const floorTenants = await makeTenants(floorDatabaseUrl, tenantCount, stamp);

  const internalToken = randomBytes(24).toString("hex");
  const topic = `bench-events-${stamp}`;
  const brokers = kafka.brokers;
  const serverPort = await freePort();
  const gatewayPort = await freePort();
  const serverUrl = `http://127.0.0.1:${serverPort}`;
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const common = { INTERNAL_TOKEN: internalToken, LOG_LEVEL: settings.logLevel };
  const log = (name: string) => join(logDir, `${stamp}-${name}.log`);
  const flags = (name: string) =>
    settings.cpuProfile.includes(name)
      ? ["--cpu-prof", `--cpu-prof-dir=${join(settings.profileDir ?? profileDir, `${stamp}-${name}`)}`]
      : [];
  if (settings.cpuProfile.length > 0) mkdirSync(settings.profileDir ?? profileDir, { recursive: true });

  const server = serviceProcess(
    "server",
    "server/src/main.ts",
    {
      ...common,
      DATABASE_URL: databaseUrl,
      SERVER_PORT: String(serverPort),
      DATABASE_POOL_SIZE: String(settings.poolSize),
      KAFKA_BROKERS: brokers,
      KAFKA_TOPIC: topic,
    },
    serverServing(serverUrl),
    log("server"),
    flags("server"),
  );
  const gateway = serviceProcess(
    "gateway",
    "gateway/src/main.ts",
    {
      ...common,
      SERVER_URL: serverUrl,
      GATEWAY_PORT: String(gatewayPort),
      RATE_LIMIT_PER_SECOND: "1000000",
      RATE_LIMIT_BURST: "1000000",
      RATE_LIMIT_PER_ADDRESS: "1000000",
    },
    httpOk(`${gatewayUrl}/readyz`),
    log("gateway"),
    flags("gateway"),
  );
  cleanups.push(() => server.stop());
  say("starting the server ...");
  startupMs.server = await server.start();
  cleanups.push(() => gateway.stop());
  say("starting the gateway ...");
  startupMs.gateway = await gateway.start();

  const consumerSlots: { name: string; port: number; current?: ServiceProcess }[] = [];
  for (const name of ["consumer-1", "consumer-2"]) consumerSlots.push({ name, port: await freePort() });
  const stopConsumers = async () => {
    await Promise.all(consumerSlots.map((slot) => slot.current?.stop()));
  };
  cleanups.push(stopConsumers);

  const postmaster = findPid(pgDir);
  const broker = findPid("kafka.Kafka", join(kafkaDir, "server.properties"));
  const infrastructure: Measured[] = [];
  if (postmaster !== undefined) infrastructure.push(measuredPostgres(postmaster));
  if (broker !== undefined) infrastructure.push(measuredPid("kafka (JVM)", broker));

  return {
    managed: true,
    gatewayUrl,
    serverUrl,
    internalToken,
    databaseUrl,
    floorDatabaseUrl,
    brokers,
    topic,
    tenants,
    floorTenants,
    startupMs,
    measured: () => [
      measuredProcess(gateway),
      measuredProcess(server),
      ...consumerSlots.map((slot) => ({
        name: slot.name,
        cpuMs: () => (slot.current ? measuredProcess(slot.current).cpuMs() : undefined),
        memoryMb: () => (slot.current ? measuredProcess(slot.current).memoryMb() : undefined),
      })),
      ...infrastructure,
      measuredSelf,
    ],
    async startConsumers(count, group, together = false) {
      await stopConsumers();
      const processes = consumerSlots.slice(0, count).map((slot) => {
        slot.current = serviceProcess(
          slot.name,
          "consumer/src/main.ts",
          {
            ...common,
            KAFKA_BROKERS: brokers,
            KAFKA_TOPIC: topic,
            SERVER_URL: serverUrl,
            CONSUMER_GROUP: group,
            CONSUMER_HEALTH_PORT: String(slot.port),
            // Heartbeats every 600 ms: a member joining makes the others rejoin within a second.
            KAFKA_SESSION_TIMEOUT_MS: "6000",
          },
          httpOk(`http://127.0.0.1:${slot.port}/readyz`),
          log(slot.name),
          flags(slot.name),
        );
        return slot.current;
      });
      if (together) return Promise.all(processes.map((p) => p.start()));
      const times: number[] = [];
      for (const p of processes) times.push(await p.start());
      return times;
    },
    stopConsumers,
    close,
  };
}
