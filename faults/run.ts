// `npm run test:faults`: the real processes (two servers, or three where a scenario asks, two
// consumers, a gateway where a scenario needs one, PostgreSQL, Kafka: one broker, or three where a
// scenario needs replicas) under load from tenants B and C (tenant A is left to attackers),
// one fault per scenario, then the invariants; figures go to docs/reliability.md (a run of some
// scenarios, `npm run test:faults -- <name>...`, writes .data/faults/reliability.md instead).
import { appendFileSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { CreateInvoiceRequestSchema } from "@invoicer/sdk";
import type { LocalKafka } from "@invoicer/devstack/local-kafka";
import { startLocalKafkaCluster, type LocalKafkaCluster } from "@invoicer/devstack/local-kafka-cluster";
import { assembleServices, startInfrastructure, type Service } from "@invoicer/devstack/stack";
import postgres from "postgres";
import { createAppDatabase, createTenants } from "@invoicer/devstack/app-database";
import { createTopics, produceRaw, readTopic } from "@invoicer/devstack/topics";
import { sampleInvoice } from "@invoicer/devstack/samples";
import { idleHttp2Sessions, oversizeAndBombs, silentConnections } from "./attacks.ts";
import { awaitSettled, checkInvariants, longestOutboxWaitMs, violations } from "./invariants.ts";
import { killPartitionLeader } from "./leader-kill.ts";
import { largeInvoicesOfTenantA, noisyTenant } from "./noisy-tenant.ts";
import { threeServers } from "./three-servers.ts";
import { gatewayClients, invoiceClients, steadyCreates, type LoadStats } from "./load.ts";
import { peakRss } from "../bench/usage.ts";
import { lastError, pipelineFigures, type PipelineFigures } from "./service-logs.ts";
import { writeReport, type Result } from "./report.ts";

const workDir = join(".data", "faults");
const sessionTimeoutMs = 3_000;
const settleTimeoutMs = 120_000;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms)); // fault timeline: "at 5 s, kill"
/** Attackers connect from other loopback addresses, so per-address limits tell them from the load on 127.0.0.1. */
const attacker = (n: number) => `127.0.0.${n + 1}`;

export interface Run {
  servers: Service[];
  /** Each server's RPC URL (SERVER_PORT). */
  serverUrls: string[];
  /** The scenario's application database. */
  databaseUrl: string;
  /** The log file of the service named so ("gateway", "server-a"). */
  logOf(name: string): string;
  /** Each server's SERVER_METRICS_PORT: GET /metrics there counts the RPCs it answered. */
  serverMetricsUrls: string[];
  consumers: Service[];
  gatewayUrl?: string;
  /** Each service's pid and PostgreSQL's (the postmaster: its backends are its children), for CPU accounting. */
  pids(): Record<string, number | undefined>;
  topic: string;
  consumerGroup: string;
  kafka(): LocalKafka;
  /** The scenario's own cluster, when it asked for `replicatedKafka`. */
  cluster?: LocalKafkaCluster;
  restartBroker(downMs: number): Promise<void>;
  restartPostgres(downMs: number): Promise<void>;
  /** Tenant A, whose key the load never uses: the attacker's. */
  noisyTenant: { tenantId: string; apiKey: string };
  /** Tenants B and C, whose calls the load makes. */
  loadTenants: { name: string; tenantId: string }[];
  /** The load, which began with the fault: a fault may await it to judge the load's own figures. */
  load: Promise<LoadStats>;
  /** Waits until the outbox is drained and every invoice has its documents (bounded); returns whether it got there. */
  settle(): Promise<boolean>;
}

export interface Scenario {
  name: string;
  what: string;
  rate: number;
  durationMs: number;
  slowConsumer?: boolean;
  /** A gateway in front of the first server (of every one, with `balanced`); the load goes through it with the tenants' API keys. */
  viaGateway?: boolean;
  /** Server processes (two unless said). */
  servers?: number;
  /** The gateway and each consumer list every server in SERVER_URL, balancing per call, instead of one server each. */
  balanced?: boolean;
  /** SERVER_REFRESH_MS of the gateway and the consumers (their default, 2000, unless said). */
  serverRefreshMs?: number;
  /** The gateway's variables that differ from the suite's. */
  gatewayEnv?: Record<string, string>;
  /** Runs once the services are up, before the load and the fault begin. */
  prepare?(run: Omit<Run, "load">): Promise<void>;
  /**
   * Runs on a Kafka cluster of its own instead of the suite's single broker: three nodes, the
   * events and dead-letter topics on three replicas with min.insync.replicas=2.
   */
  replicatedKafka?: boolean;
  /** Consumers are started by the fault, not with the servers (a backlog builds first). */
  consumersLater?: boolean;
  /** Events expected on the dead-letter topic (the poison event's one). */
  expectedDeadLetters?: number;
  /** Every call that reached a server must succeed (a deploy, not a crash). */
  noFailedCalls?: boolean;
  request?: (key: string, i: number) => ReturnType<typeof sampleInvoice>;
  /** Runs alongside the load; resolves when the fault is over (recovery is timed from then), with findings to report. */
  fault(run: Run): Promise<Findings | void>;
}

/** What a fault found, and what of it breaks a promise. */
export interface Findings {
  notes: string[];
  broken: string[];
}

/** 100 lines of 500 characters: an event of about 55 KB. */
const largeInvoice = (key: string) =>
  sampleInvoice({
    idempotencyKey: key,
    lines: Array.from({ length: 100 }, (_, i) => ({
      description: `${i} ${"x".repeat(495)}`,
      quantity: 1n,
      unitPriceMinor: 100n,
      vatRateBp: 1900,
    })),
  });

const scenarios: Scenario[] = [
  {
    name: "broker-outage",
    what: "Kafka stopped for 20 s under 50 creates/s, then restarted",
    rate: 50,
    durationMs: 30_000,
    fault: async (run) => (await pause(4_000), await run.restartBroker(20_000)),
  },
  {
    name: "broker-pause-large-events",
    what: "Kafka frozen (SIGSTOP) for 3 s while 30 invoices/s of 100 lines x 500 characters (~55 KB events) are created, then resumed",
    rate: 30,
    durationMs: 10_000,
    request: (key) => largeInvoice(key),
    fault: async (run) => (await pause(3_000), run.kafka().pause(), await pause(3_000), run.kafka().resume()),
  },
  {
    name: "server-kill",
    what: "one of two servers SIGKILLed under load, restarted 5 s later",
    rate: 50,
    durationMs: 20_000,
    fault: async (run) => void (await pause(5_000), await run.servers[0]!.kill(), await pause(5_000), await run.servers[0]!.start()),
  },
  {
    name: "rolling-restart",
    what: "both servers restarted one after the other with SIGTERM under load, as a deploy does",
    rate: 50,
    durationMs: 20_000,
    noFailedCalls: true,
    fault: async (run) => {
      await pause(3_000);
      for (const server of run.servers) {
        await server.stop();
        await server.start();
        await pause(2_000);
      }
    },
  },
  {
    name: "consumer-kill",
    what: "one of two consumers SIGKILLed mid-stream; the other renders one invoice slower than the session timeout",
    rate: 50,
    durationMs: 20_000,
    slowConsumer: true,
    fault: async (run) => void (await pause(5_000), await run.consumers[0]!.kill(), await pause(7_000), await run.consumers[0]!.start()),
  },
  {
    name: "kafka-leader-killed",
    what: "on three Kafka nodes (topics on 3 replicas, min.insync.replicas=2), a node leading a partition of the events topic, and the consumers' group coordinator when it leads one, SIGKILLed under 50 creates/s through the gateway, restarted 15 s later",
    rate: 50,
    durationMs: 30_000,
    viaGateway: true,
    replicatedKafka: true,
    fault: (run) =>
      killPartitionLeader(run.cluster!, run.topic, {
        groupId: run.consumerGroup,
        afterMs: 5_000,
        downMs: 15_000,
      }),
  },
  {
    name: "postgres-restart",
    what: "PostgreSQL stopped for 5 s under load, then restarted",
    rate: 50,
    durationMs: 20_000,
    fault: async (run) => (await pause(5_000), await run.restartPostgres(5_000)),
  },
  {
    name: "postgres-down-consumer-lag",
    what: "500 invoices created with the consumers stopped; the consumers start and PostgreSQL stops for 8 s while they work through the backlog",
    rate: 50,
    durationMs: 10_000,
    consumersLater: true,
    fault: async (run) => {
      await pause(10_500);
      await Promise.all(run.consumers.map((c) => c.start()));
      await run.restartPostgres(8_000);
    },
  },
  {
    name: "poison-event",
    what: "an undecodable message on the topic amid normal traffic",
    rate: 20,
    durationMs: 10_000,
    expectedDeadLetters: 1,
    fault: async (run) => {
      await pause(2_000);
      await produceRaw([run.kafka().brokers], run.topic, [{ key: "poison", value: Buffer.from("\xff\xff not an InvoiceEvent") }]);
      const letters = await readTopic([run.kafka().brokers], `${run.topic}.dead-letter`);
      try {
        await letters.until((ms) => ms.some((m) => m.key === "poison"), 60_000);
      } finally {
        await letters.close();
      }
    },
  },
  {
    name: "idle-and-slow-clients",
    what: "through the gateway: 1,000 connections that send nothing, 300 that send half a request header, 200 idle HTTP/2 sessions, from other addresses, during 30 creates/s",
    rate: 30,
    durationMs: 15_000,
    viaGateway: true,
    fault: async (run) => {
      const { port } = new URL(run.gatewayUrl!);
      const giveUpMs = 20_000;
      const [silent, slow, sessions] = await Promise.all([
        silentConnections(Number(port), attacker(1), 1_000, false, giveUpMs),
        silentConnections(Number(port), attacker(2), 300, true, giveUpMs),
        idleHttp2Sessions(run.gatewayUrl!, attacker(3), 200, giveUpMs),
      ]);
      const notes = [
        `silent: ${silent.closedByGateway}/${silent.opened} closed by the gateway, the last after ${silent.slowestCloseMs} ms`,
        `half a header: ${slow.closedByGateway}/${slow.opened} closed, the last after ${slow.slowestCloseMs} ms`,
        `idle HTTP/2: ${sessions.closed}/${sessions.opened} closed`,
      ];
      const broken = [
        silent.closedByGateway < silent.opened
          ? `${silent.opened - silent.closedByGateway} silent connections held past ${giveUpMs} ms`
          : "",
        slow.closedByGateway < slow.opened ? `${slow.opened - slow.closedByGateway} slow connections held past ${giveUpMs} ms` : "",
        sessions.closed < sessions.opened ? `${sessions.opened - sessions.closed} idle HTTP/2 sessions held` : "",
      ].filter(Boolean);
      return { notes, broken };
    },
  },
  {
    name: "bombs-and-oversize",
    what: "through the gateway, without an API key: 256 MiB gzip bombs to reflection (gRPC, gRPC-web) and to CreateInvoice, 50 MiB REST bodies, 1 MiB headers (HTTP/1.1, HTTP/2), 20 of each, during 30 creates/s",
    rate: 30,
    durationMs: 15_000,
    viaGateway: true,
    fault: async (run) => {
      const results = await oversizeAndBombs(run.gatewayUrl!, attacker(4), 20);
      // What each kind must get: refused, never run or inflated.
      const expected: Record<string, RegExp> = {
        "reflection, gRPC, 256 MiB gzip bomb": /^grpc-status 8$/,
        // Reflection is bidirectional streaming, which HTTP/1.1 cannot carry: refused before the body is read.
        "reflection, gRPC-web over HTTP/1.1, 256 MiB gzip bomb": /^HTTP 505$/,
        "CreateInvoice, gRPC, gzip bomb, no key": /^grpc-status 16$/,
        "REST create, 50 MiB chunked, no key": /^(HTTP 401|closed)$/,
        "HTTP/1.1, a 1 MiB header": /^(HTTP 431|closed)$/,
        "HTTP/2, a 1 MiB header": /^(stream reset|session error)$/,
      };
      const notes = Object.entries(results).map(
        ([kind, o]) =>
          `${kind}: ${Object.entries(o)
            .map(([k, n]) => `${n}x ${k}`)
            .join(", ")}`,
      );
      const broken = Object.entries(results).flatMap(([kind, o]) =>
        Object.entries(o)
          .filter(([outcome]) => !expected[kind]!.test(outcome))
          .map(([outcome, n]) => `${kind}: ${n}x ${outcome}`),
      );
      return { notes, broken };
    },
  },
  {
    name: "noisy-tenant",
    what: "through one gateway in front of both servers (IDLE_TIMEOUT_MS at its default, 120 s), tenants B and C create 30 invoices/s; from 15 s in, tenant A (from other addresses, in a process of its own) keeps 3 HTTP/2 connections with a zero flow-control window each holding 3 gRPC ListInvoices(page_size=100) over its 100 invoices of 100 lines x 500 characters (a call the gateway cuts is sent again), 20 calls whose request never ends, and 250 WatchInvoices streams opened at once (each refused opened again a second later), until the load ends at 33 s; B's and C's p99 from 15 s is held against their own p99 from 3 to 15 s",
    rate: 30,
    durationMs: 33_000,
    viaGateway: true,
    balanced: true,
    // The default idle timeout: the suite's 5 s would close A's quiet connections before the per-tenant bounds meet them.
    gatewayEnv: { IDLE_TIMEOUT_MS: "120000" },
    prepare: (run) => largeInvoicesOfTenantA(run, largeInvoice),
    fault: (run) => noisyTenant(run, { baselineFromMs: 3_000, attackAtMs: 15_000, addresses: [attacker(5), attacker(6), attacker(7)] }),
  },
  {
    name: "three-servers",
    what: "three servers behind one gateway and two consumers, each listing all three in SERVER_URL (SERVER_REFRESH_MS 500); 50 creates/s from tenants B and C through the gateway; at 10 s each server's share is read from its /metrics and server-c is SIGSTOPped for 10 s at a moment it holds a create's transaction open (a stop that finds none is undone at once and tried again 50 ms later), then SIGCONTed; at 28 s server-b is SIGKILLed for good; the load runs to 40 s",
    rate: 50,
    durationMs: 40_000,
    viaGateway: true,
    servers: 3,
    balanced: true,
    serverRefreshMs: 500,
    fault: (run) => threeServers(run, { stopAtMs: 10_000, stoppedForMs: 10_000, killAtMs: 28_000, refreshMs: 500 }),
  },
];

// `npm run test:faults -- <name>...` runs only the named scenarios.
const only = process.argv.slice(2);
const selected = scenarios.filter((s) => only.length === 0 || only.includes(s.name));
rmSync(workDir, { recursive: true, force: true });
mkdirSync(join(workDir, "logs"), { recursive: true });
// The suite's single broker, for the scenarios that do not bring a cluster of their own.
const singleBroker = selected.some((s) => !s.replicatedKafka);
const infrastructure = await startInfrastructure({ dataDir: workDir, kafka: singleBroker && {} });
const results: Result[] = [];

try {
  for (const scenario of selected) {
    process.stdout.write(`scenario ${scenario.name}: ${scenario.what} ...\n`);
    const r = await runScenario(scenario);
    results.push(r);
    const broken = [...violations(r.outcome), ...r.findings.broken];
    process.stdout.write(
      `  ${r.load.succeeded}/${r.load.sent} acknowledged, recovered in ${r.recoveryMs} ms, ${broken.join("; ") || "all invariants hold"}\n`,
    );
    for (const note of r.findings.notes) process.stdout.write(`  ${note}\n`);
  }
} finally {
  await infrastructure.stop();
  // The services' logs stay in .data/faults/logs for a look after a failure.
  for (const data of ["postgres", "kafka", "kafka-cluster"]) rmSync(join(workDir, data), { recursive: true, force: true });
}
// Only a run of every scenario replaces docs/reliability.md; a run of some writes its report beside the logs.
writeReport(
  results,
  only.length === 0 ? "docs/reliability.md" : join(workDir, "reliability.md"),
  ["npm run test:faults", ...(only.length ? ["--", ...only] : [])].join(" "),
);
const failed = results.filter((r) => !r.settled || violations(r.outcome).length > 0 || r.findings.broken.length > 0);
process.exit(failed.length === 0 ? 0 : 1);

async function runScenario(scenario: Scenario): Promise<Result> {
  const databaseUrl = await createAppDatabase(infrastructure.postgres.url, `faults_${scenario.name.replace(/-/g, "_")}`);
  // Tenant A is left to the attackers; the load is B's and C's.
  const tenants = await createTenants(databaseUrl, ["fault-a", "fault-b", "fault-c"]);

  const topic = `faults-${scenario.name}`;
  const cluster = scenario.replicatedKafka ? await startCluster(scenario.name, topic) : undefined;
  try {
    return await runServices(scenario, databaseUrl, tenants, topic, cluster);
  } finally {
    await cluster?.stop();
  }
}

/** A scenario's own three Kafka nodes, each logging to its own file, with its topics on three replicas. */
async function startCluster(name: string, topic: string): Promise<LocalKafkaCluster> {
  const cluster = await startLocalKafkaCluster({
    dataDir: join(workDir, "kafka-cluster"),
    ephemeral: true,
    onLog: (id, line) => appendFileSync(join(workDir, "logs", `${name}-kafka-${id}.log`), `${line}\n`),
  });
  const replicated = { replicationFactor: 3, config: { "min.insync.replicas": "2" } };
  const topics = [
    { topic, partitions: 3, ...replicated },
    { topic: `${topic}.dead-letter`, partitions: 1, ...replicated },
  ];
  await createTopics(cluster.brokers.split(","), topics).catch(async (err: unknown) => {
    await cluster.stop();
    throw err;
  });
  return cluster;
}

/** The scenario's processes, not yet started: its servers, two consumers, and a gateway when it has one. */
function serviceProcesses(scenario: Scenario, databaseUrl: string, brokers: string, topic: string) {
  const consumerGroup = `documents-${scenario.name}`;
  const refresh = scenario.serverRefreshMs === undefined ? {} : { SERVER_REFRESH_MS: String(scenario.serverRefreshMs) };
  const consumerEnv = {
    ...refresh,
    CONSUMER_GROUP: consumerGroup,
    KAFKA_SESSION_TIMEOUT_MS: String(sessionTimeoutMs),
    RENDER_RETRY_BACKOFF_MS: "200",
    FAULT_SLOW_RENDER_MS: String(sessionTimeoutMs * 2.5),
  };
  // Short connection bounds, so the suite sees them work within its run.
  const gatewayEnv = {
    ...refresh,
    HEADERS_TIMEOUT_MS: "2000",
    IDLE_TIMEOUT_MS: "5000",
    RATE_LIMIT_PER_SECOND: "1000",
    RATE_LIMIT_BURST: "2000",
  };
  return assembleServices({
    databaseUrl,
    brokers,
    servers: ["server-a", "server-b", "server-c"]
      .slice(0, scenario.servers ?? 2)
      .map((name) => ({ name, env: { DATABASE_POOL_SIZE: "10", OUTBOX_POLL_MS: "1000" } })),
    consumers: ["consumer-1", "consumer-2"].map((name, i) => ({
      name,
      env: consumerEnv,
      entry: scenario.slowConsumer && i === 1 ? "faults/slow-consumer.ts" : undefined,
    })),
    gateways: scenario.viaGateway ? [{ name: "gateway", env: { ...gatewayEnv, ...scenario.gatewayEnv } }] : [],
    // Each consumer and the gateway talk to one server each, or to all of them, balanced per call.
    balanced: scenario.balanced,
    env: { KAFKA_TOPIC: topic, LOG_LEVEL: "info" },
    logDir: join(workDir, "logs"),
    logPrefix: `${scenario.name}-`,
  }).then((services) => ({ ...services, consumerGroup, serverUrls: services.servers.map((s) => s.url) }));
}

/** What a scenario runs on: its database and tenants, its topic and the brokers that carry it. */
interface Ground {
  databaseUrl: string;
  tenants: Awaited<ReturnType<typeof createTenants>>;
  topic: string;
  brokers: string;
  cluster: LocalKafkaCluster | undefined;
}

async function runServices(
  scenario: Scenario,
  databaseUrl: string,
  tenants: Ground["tenants"],
  topic: string,
  cluster: LocalKafkaCluster | undefined,
): Promise<Result> {
  const brokers = cluster?.brokers ?? infrastructure.kafka.brokers;
  const processes = await serviceProcesses(scenario, databaseUrl, brokers, topic);
  const { servers, consumers } = processes;
  const services = [...servers, ...consumers, ...processes.gateways];
  const rss = peakRss(
    () => [
      ...services.map((s) => ({ name: s.name, pid: s.pid() })),
      // A cluster's nodes share the column: its largest.
      ...(cluster
        ? cluster.nodeIds.map((id) => ({ name: "kafka", pid: cluster.pid(id) }))
        : [{ name: "kafka", pid: infrastructure.kafka.pid }]),
      { name: "postgres", pid: infrastructure.postgres.pid },
    ],
    250,
  );
  // The services stop however the scenario ends: a fault that throws must not leave them running.
  try {
    await processes.start({ consumers: !scenario.consumersLater });
    const outcome = await loadAndFault(scenario, { databaseUrl, tenants, topic, brokers, cluster }, processes);
    // Each crash named, with the error its log ends on, as the CI output is all there is to read.
    const crashed = services.flatMap((s) =>
      s.crashes().map((how) => `${s.name} exited by itself (${how}): ${lastError(processes.logOf(s.name))}`),
    );
    const pipeline = {
      ...pipelineFigures(
        servers.map((s) => processes.logOf(s.name)),
        consumers.map((c) => processes.logOf(c.name)),
      ),
      outboxWaitMs: outcome.outboxWaitMs,
    };
    const { load, findings, settled, recoveryMs } = outcome;
    return {
      scenario,
      load,
      outcome: outcome.outcome,
      recoveryMs,
      settled,
      crashes: crashed.length,
      peakRssMiB: await rss.stop(),
      findings: withLoadFindings(scenario, load, findings ?? undefined, crashed, pipeline),
    };
  } finally {
    await processes.stop();
  }
}

/** The load and the fault together, then the invariants once everything has settled. */
async function loadAndFault(scenario: Scenario, ground: Ground, processes: Awaited<ReturnType<typeof serviceProcesses>>) {
  const { databaseUrl, tenants, topic, brokers, cluster } = ground;
  const { servers, consumers, serverUrls, internalToken } = processes;
  const gatewayUrl = processes.gateways[0]?.url;
  const [noisyTenant, ...loadTenants] = tenants;
  const direct = invoiceClients(serverUrls, internalToken);
  const viaGateway = gatewayUrl
    ? gatewayClients(
        gatewayUrl,
        loadTenants.map((t) => t.apiKey),
      )
    : [];
  const request = (key: string, i: number) =>
    scenario.request?.(key, i) ??
    sampleInvoice({ idempotencyKey: key, buyer: { ...sampleInvoice().buyer!, name: i === 10 ? "Slow Ltd" : `Buyer ${i}` } });
  const startLoad = () =>
    steadyCreates({
      clientsOf: (tenant) => (scenario.viaGateway ? [viaGateway[tenant]!] : direct),
      tenantIds: loadTenants.map((t) => t.tenantId),
      rate: scenario.rate,
      durationMs: scenario.durationMs,
      request: (key, i) => create(CreateInvoiceRequestSchema, request(key, i)),
    });
  let check: postgres.Sql | undefined;
  try {
    const services: Omit<Run, "load"> = {
      ...runControls(),
      servers,
      serverUrls,
      databaseUrl,
      logOf: processes.logOf,
      serverMetricsUrls: servers.map((s) => s.metricsUrl!),
      consumers,
      gatewayUrl,
      pids: () => ({ ...processes.pids(), postgres: infrastructure.postgres.pid }),
      topic,
      consumerGroup: processes.consumerGroup,
      cluster,
      noisyTenant: noisyTenant!,
      loadTenants,
      settle: () => settledIn(databaseUrl),
    };
    await scenario.prepare?.(services);
    const run: Run = { ...services, load: startLoad() };
    const [load, findings] = await Promise.all([run.load, scenario.fault(run)]);
    const faultOver = Date.now();
    check = postgres(databaseUrl, { max: 2, onnotice: () => {} });
    const settled = await awaitSettled(check, settleTimeoutMs);
    const recoveryMs = Date.now() - faultOver;
    const outcome = await checkInvariants(check, brokers.split(","), topic, load.acked, scenario.expectedDeadLetters ?? 0);
    return { load, findings, settled, recoveryMs, outcome, outboxWaitMs: await longestOutboxWaitMs(check) };
  } finally {
    await check?.end();
  }
}

/** Whether the outbox of `databaseUrl` drains and every invoice gets its documents within settleTimeoutMs. */
async function settledIn(databaseUrl: string): Promise<boolean> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    return await awaitSettled(sql, settleTimeoutMs);
  } finally {
    await sql.end();
  }
}

/** What a fault may do to the shared PostgreSQL and Kafka broker. */
function runControls(): Pick<Run, "kafka" | "restartBroker" | "restartPostgres"> {
  return {
    kafka: () => infrastructure.kafka,
    restartBroker: (downMs) => infrastructure.restartKafka(downMs),
    restartPostgres: (downMs) => infrastructure.restartPostgres(downMs),
  };
}

/** The load's own findings: calls that failed after a server took them, where none may, and crashed processes. */
function withLoadFindings(
  scenario: Scenario,
  load: LoadStats,
  findings: Findings | undefined,
  crashed: string[],
  pipeline: PipelineFigures & { outboxWaitMs: number },
): Findings {
  const broken = [...(findings?.broken ?? [])];
  if (scenario.noFailedCalls && load.failedInFlight > 0)
    broken.push(`${load.failedInFlight} calls failed in flight (${JSON.stringify(load.errors)})`);
  if (crashed.length > 0) broken.push(`${crashed.length} processes crashed`);
  const errors = Object.entries(load.errorMessages)
    .sort(([, a], [, b]) => b - a)
    .map(([what, n]) => `${n}x ${what}`);
  const { relayFailures, relayOutageMs, producerRetries, documentsPauseMs, outboxWaitMs } = pipeline;
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const outage =
    relayOutageMs === undefined ? "a relay had not recovered at the end" : `the longest ${relayOutageMs} ms from first failure to recovery`;
  const notes = [
    ...(errors.length ? [`failed attempts (each retried): ${errors.join(", ")}`] : []),
    ...(relayFailures > 0 ? [`relay: ${relayFailures} failed publish attempts, each retried; ${outage}`] : []),
    ...(producerRetries > 0 ? [`producer: ${producerRetries} produce attempts retried within a publish`] : []),
    ...(outboxWaitMs >= 1_000 ? [`outbox: ${seconds(outboxWaitMs)} at most from commit to publish`] : []),
    ...(documentsPauseMs >= 1_000 ? [`documents: ${seconds(documentsPauseMs)} at most between two attached`] : []),
    ...crashed,
    ...(findings?.notes ?? []),
  ];
  return { notes, broken };
}
