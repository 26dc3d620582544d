// The system under test: a fresh PostgreSQL cluster and Kafka broker under .data/bench, a fresh
// database and topic, the server, the gateway and up to two consumers as child processes.
import { mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import postgres from "postgres";
import { createAppDatabase, createTenants } from "@invoicer/devstack/app-database";
import { assembleServices, startInfrastructure } from "@invoicer/devstack/stack";
import { podLimits, type PodLimits, type PodMemory } from "./pod-limits.ts";
import type { Pids } from "./usage.ts";

const dataDir = resolve(".data", "bench");
export const tmpDir = resolve("bench", "results", "tmp");

export interface Tenant {
  id: string;
  apiKey: string;
}

export interface Stack {
  serverUrl: string;
  gatewayUrl: string;
  internalToken: string;
  databaseUrl: string;
  /** A new tenant (API key) of the service database. */
  tenant(name: string): Promise<Tenant>;
  /** A second database on the cluster for the SQL floor, so no relay or watcher reacts to its rows. */
  floorDatabase(): Promise<{ url: string; tenant: Tenant }>;
  /** The services' pids: server, gateway, consumer-1, consumer-2. */
  pids(): Pids;
  /** PostgreSQL's postmaster (its backends are children) and the Kafka broker's JVM. */
  infrastructurePids: Pids;
  /** Each service's memory cgroup, with --pod-limits. */
  podMemory?: () => Record<string, PodMemory>;
  /** Starts `count` consumers in a new group that begins at the topic's end (not at the calls' backlog). */
  startConsumers(count: number): Promise<void>;
  close(): Promise<void>;
}

export interface StackOptions {
  /** Every service runs with --cpu-prof writing there. */
  profileDir?: string;
  /** NODE_OPTIONS for the services, after their own (serviceNodeOptions): later flags win. */
  nodeOptions?: string;
  /** Every service in a memory cgroup of its chart limit (bench/pod-limits.ts). */
  podLimits?: boolean;
}

/** Starts the stack. */
export async function startStack(stamp: string, say: (line: string) => void, options: StackOptions = {}): Promise<Stack> {
  const cleanups: (() => Promise<unknown>)[] = [async () => rmSync(dataDir, { recursive: true, force: true })];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => say(`cleanup failed: ${String(err)}`));
    cleanups.length = 0;
  };
  try {
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(join(tmpDir, "logs"), { recursive: true });
    say("starting PostgreSQL and Kafka (fresh) ...");
    const database = `bench_${stamp}`;
    const infrastructure = await startInfrastructure({ dataDir, postgres: { database } });
    cleanups.push(() => infrastructure.stop());
    const { postgres: pg, kafka } = infrastructure;
    const limits = options.podLimits ? podLimits(stamp) : undefined;
    if (limits) cleanups.push(() => limits.remove());
    const services = await startServices(stamp, pg.url, kafka.brokers, options, limits);
    cleanups.push(() => services.stop());
    say(`server ${services.serverUrl}, gateway ${services.gatewayUrl}`);
    const tenant = async (url: string, name: string) => {
      const [t] = await createTenants(url, [`bench-${stamp}-${name}`]);
      return { id: t!.tenantId, apiKey: t!.apiKey };
    };
    let floor: Promise<{ url: string; tenant: Tenant }> | undefined;
    const floorDatabase = () =>
      createAppDatabase(pg.url, `${database}_floor`).then(async (url) => ({ url, tenant: await tenant(url, "floor") }));
    return {
      ...services,
      infrastructurePids: { postgresql: pg.pid, kafka: kafka.pid },
      databaseUrl: pg.url,
      tenant: (name) => tenant(pg.url, name),
      floorDatabase: () => (floor ??= floorDatabase()),
      podMemory: limits?.usage,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

async function startServices(
  stamp: string,
  databaseUrl: string,
  brokers: string,
  { profileDir, nodeOptions }: StackOptions,
  limits?: PodLimits,
) {
  const topic = `bench-events-${stamp}`;
  const services = await assembleServices({
    databaseUrl,
    brokers,
    servers: [
      {
        name: "server",
        // The bench's one tenant calls --concurrency at once and may use the whole pool: it measures throughput, not the tenant's bounds.
        env: {
          MAX_CALLS_PER_TENANT: "100000",
          MAX_RUNNING_CALLS_PER_TENANT: "100000",
          READ_LINES_PER_SECOND_PER_TENANT: "100000000",
          READ_LINES_BURST_PER_TENANT: "100000000",
        },
      },
    ],
    gateways: [
      { name: "gateway", env: { RATE_LIMIT_PER_SECOND: "1000000", RATE_LIMIT_BURST: "1000000", RATE_LIMIT_PER_ADDRESS: "1000000" } },
    ],
    env: {
      KAFKA_TOPIC: topic,
      // After the shell's, as npm start puts the shell's after the services' own.
      ...(nodeOptions === undefined ? {} : { NODE_OPTIONS: [process.env.NODE_OPTIONS, nodeOptions].filter(Boolean).join(" ") }),
    },
    logDir: join(tmpDir, "logs"),
    logPrefix: `${stamp}-`,
    processOptions: (name) => ({
      nodeFlags: profileDir ? ["--cpu-prof", `--cpu-prof-dir=${join(profileDir, `${stamp}-${name}`)}`] : [],
      launcher: limits?.launcher(name),
    }),
  });
  await services.start();
  const startConsumers = async (count: number) => {
    const group = `bench-documents-${stamp}`;
    await outboxPublished(databaseUrl);
    await groupAtTopicEnd(brokers, group, topic);
    const added = [];
    // Heartbeats every 600 ms: the two members' first rebalance settles within a second or two.
    for (let i = 1; i <= count; i++)
      added.push(await services.addConsumer({ name: `consumer-${i}`, env: { CONSUMER_GROUP: group, KAFKA_SESSION_TIMEOUT_MS: "6000" } }));
    await Promise.all(added.map((c) => c.start()));
  };
  const [server, gateway] = [services.servers[0]!, services.gateways[0]!];
  return {
    serverUrl: server.url,
    gatewayUrl: gateway.url,
    internalToken: services.internalToken,
    pids: services.pids,
    startConsumers,
    stop: services.stop,
  };
}

/** Waits until the relay has published every outbox row (the calls' events), within a minute. */
async function outboxPublished(databaseUrl: string): Promise<void> {
  const sql = postgres(databaseUrl, { max: 1 });
  try {
    for (const deadline = performance.now() + 60_000; performance.now() < deadline;) {
      const [{ n }] = (await sql`select count(*)::int as n from outbox where published_at is null`) as [{ n: number }];
      if (n === 0) return;
      await new Promise((r) => setTimeout(r, 200)); // rows in another process's database: only visible by asking
    }
    throw new Error("the relay did not publish the outbox within a minute");
  } finally {
    await sql.end();
  }
}

/** Commits the group's offsets at the topic's end: the consumers (which read from the beginning) skip what the calls issued. */
async function groupAtTopicEnd(brokers: string, groupId: string, topic: string): Promise<void> {
  const admin = new Kafka({ clientId: "bench-admin", brokers: [brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic }], waitForLeaders: true }); // false when the relay made it already
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.setOffsets({ groupId, topic, partitions: ends.map(({ partition, high }) => ({ partition, offset: high })) });
  } finally {
    await admin.disconnect();
  }
}
