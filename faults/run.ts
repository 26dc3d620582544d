// `npm run test:faults`: the real processes (two servers, two consumers, PostgreSQL, Kafka) under
// load, one fault per scenario, then the invariants; figures go to docs/reliability.md.
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { startLocalKafka, type LocalKafka } from "@invoicer/platform/local-kafka";
import { startLocalPostgres, type LocalPostgres } from "@invoicer/platform/local-postgres";
import { freePort } from "@invoicer/platform/ports";
import postgres from "postgres";
import { createApiKey } from "../server/src/api-keys.ts";
import { openDatabase } from "../server/src/db/client.ts";
import { applyMigrations } from "../server/src/db/migrate.ts";
import { produceRaw, readTopic } from "../test/support/events.ts";
import { sampleInvoice } from "../test/support/stack.ts";
import { awaitSettled, checkInvariants, violations, type Outcome } from "./invariants.ts";
import { invoiceClients, steadyCreates, type LoadStats } from "./load.ts";
import { httpOk, serverServing, serviceProcess, type ServiceProcess } from "../scripts/service-process.ts";

const workDir = join(".data", "faults");
const sessionTimeoutMs = 3_000;
const settleTimeoutMs = 120_000;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms)); // fault timeline: "at 5 s, kill"

interface Run {
  servers: ServiceProcess[];
  consumers: ServiceProcess[];
  topic: string;
  restartBroker(downMs: number): Promise<void>;
  restartPostgres(downMs: number): Promise<void>;
}

interface Scenario {
  name: string;
  what: string;
  rate: number;
  durationMs: number;
  slowConsumer?: boolean;
  /** Runs alongside the load; resolves when the fault is over (recovery is timed from then). */
  fault(run: Run): Promise<void>;
}

const scenarios: Scenario[] = [
  {
    name: "broker-outage",
    what: "Kafka stopped for 20 s under 50 creates/s, then restarted",
    rate: 50,
    durationMs: 30_000,
    fault: async (run) => (await pause(4_000), await run.restartBroker(20_000)),
  },
  {
    name: "server-kill",
    what: "one of two servers SIGKILLed under load, restarted 5 s later",
    rate: 50,
    durationMs: 20_000,
    fault: async (run) => void (await pause(5_000), await run.servers[0]!.kill(), await pause(5_000), await run.servers[0]!.start()),
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
    name: "postgres-restart",
    what: "PostgreSQL stopped for 5 s under load, then restarted",
    rate: 50,
    durationMs: 20_000,
    fault: async (run) => (await pause(5_000), await run.restartPostgres(5_000)),
  },
  {
    name: "poison-event",
    what: "an undecodable message on the topic amid normal traffic",
    rate: 20,
    durationMs: 10_000,
    fault: async (run) => {
      await pause(2_000);
      await produceRaw([brokers], run.topic, [{ key: "poison", value: Buffer.from("\xff\xff not an InvoiceEvent") }]);
      const letters = await readTopic([brokers], `${run.topic}.dead-letter`);
      try {
        await letters.until((ms) => ms.some((m) => m.key === "poison"), 60_000);
      } finally {
        await letters.close();
      }
    },
  },
];

// `npm run test:faults -- <name>...` runs only the named scenarios.
const only = process.argv.slice(2);
const selected = scenarios.filter((s) => only.length === 0 || only.includes(s.name));
rmSync(workDir, { recursive: true, force: true });
mkdirSync(join(workDir, "logs"), { recursive: true });
const pgPort = await freePort();
const kafkaPort = await freePort();
let pg: LocalPostgres = await startLocalPostgres({ dataDir: join(workDir, "postgres"), port: pgPort });
let kafka: LocalKafka = await startLocalKafka({ dataDir: join(workDir, "kafka"), port: kafkaPort });
const brokers = kafka.brokers;
const results: { scenario: Scenario; load: LoadStats; outcome: Outcome; recoveryMs: number; settled: boolean }[] = [];

try {
  for (const scenario of selected) {
    process.stdout.write(`scenario ${scenario.name}: ${scenario.what} ...\n`);
    results.push(await runScenario(scenario));
    const r = results[results.length - 1]!;
    process.stdout.write(`  ${r.load.succeeded}/${r.load.sent} acknowledged, recovered in ${r.recoveryMs} ms, ${violations(r.outcome).join("; ") || "all invariants hold"}\n`);
  }
} finally {
  await kafka.stop();
  await pg.stop();
  // The services' logs stay in .data/faults/logs for a look after a failure.
  for (const data of ["postgres", "kafka"]) rmSync(join(workDir, data), { recursive: true, force: true });
}
writeReport();
const failed = results.filter((r) => !r.settled || violations(r.outcome).length > 0);
process.exit(failed.length === 0 ? 0 : 1);

async function runScenario(scenario: Scenario) {
  const database = `faults_${scenario.name.replace(/-/g, "_")}`;
  const admin = postgres(pg.url, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${database}`);
  await admin.end();
  const databaseUrl = Object.assign(new URL(pg.url), { pathname: `/${database}` }).toString();
  await applyMigrations(databaseUrl);
  const setup = openDatabase(databaseUrl, 2);
  const tenants = [await createApiKey(setup.db, "fault-a"), await createApiKey(setup.db, "fault-b")];
  await setup.close();

  const internalToken = randomBytes(24).toString("hex");
  const topic = `faults-${scenario.name}`;
  const common = { INTERNAL_TOKEN: internalToken, KAFKA_BROKERS: brokers, KAFKA_TOPIC: topic, LOG_LEVEL: "info" };
  const log = (name: string) => join(workDir, "logs", `${scenario.name}-${name}.log`);
  const serverPorts = [await freePort(), await freePort()];
  const serverUrls = serverPorts.map((port) => `http://127.0.0.1:${port}`);
  const servers = ["server-a", "server-b"].map((name, i) => {
    const env = { ...common, DATABASE_URL: databaseUrl, SERVER_PORT: String(serverPorts[i]), DATABASE_POOL_SIZE: "10", OUTBOX_POLL_MS: "1000" };
    return serviceProcess(name, "server/src/main.ts", env, serverServing(serverUrls[i]!), log(name));
  });
  const consumers = await Promise.all(
    ["consumer-1", "consumer-2"].map(async (name, i) => {
      const port = await freePort();
      const env = {
        ...common,
        SERVER_URL: serverUrls[i]!,
        CONSUMER_GROUP: `documents-${scenario.name}`,
        CONSUMER_HEALTH_PORT: String(port),
        KAFKA_SESSION_TIMEOUT_MS: String(sessionTimeoutMs),
        RENDER_RETRY_BACKOFF_MS: "200",
        FAULT_SLOW_RENDER_MS: String(sessionTimeoutMs * 2.5),
      };
      const entry = scenario.slowConsumer && i === 1 ? "faults/slow-consumer.ts" : "consumer/src/main.ts";
      return serviceProcess(name, entry, env, httpOk(`http://127.0.0.1:${port}/readyz`), log(name));
    }),
  );
  for (const s of [...servers, ...consumers]) await s.start();

  const run: Run = {
    servers,
    consumers,
    topic,
    async restartBroker(downMs) {
      await kafka.stop();
      await pause(downMs);
      kafka = await startLocalKafka({ dataDir: join(workDir, "kafka"), port: kafkaPort });
    },
    async restartPostgres(downMs) {
      await pg.stop();
      await pause(downMs);
      pg = await startLocalPostgres({ dataDir: join(workDir, "postgres"), port: pgPort });
    },
  };
  const clients = invoiceClients(serverUrls, internalToken);
  const request = (key: string, i: number) =>
    sampleInvoice({ idempotencyKey: key, buyer: { ...sampleInvoice().buyer!, name: i === 10 ? "Slow Ltd" : `Buyer ${i}` } });
  const [load] = await Promise.all([
    steadyCreates({ clients, tenantIds: tenants.map((t) => t.tenantId), rate: scenario.rate, durationMs: scenario.durationMs, request }),
    scenario.fault(run),
  ]);
  const faultOver = Date.now();
  const check = postgres(databaseUrl, { max: 2, onnotice: () => {} });
  try {
    const settled = await awaitSettled(check, settleTimeoutMs);
    const recoveryMs = Date.now() - faultOver;
    const outcome = await checkInvariants(check, [brokers], topic, load.acked);
    return { scenario, load, outcome, recoveryMs, settled };
  } finally {
    await check.end();
    for (const s of [...consumers, ...servers]) await s.stop();
  }
}

function writeReport() {
  const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"]).toString().trim();
  const header = "| scenario | sent | ok | failed | client retries | committed | published | documents | redeliveries | lost | duplicated effects | recovery | invariants |";
  const rows = results.map(({ scenario, load, outcome: o, recoveryMs, settled }) => {
    const broken = violations(o);
    const verdict = !settled ? "did not settle in 120 s" : broken.length ? broken.join("; ") : "all hold";
    return `| ${scenario.name} | ${load.sent} | ${load.succeeded} | ${load.failed} | ${load.retries} | ${o.committed} | ${o.published} | ${o.documentsRendered} | ${o.redeliveries} | ${o.lostAcked} | ${o.doubleEffects} | ${(recoveryMs / 1000).toFixed(1)} s | ${verdict} |`;
  });
  const text = `# Reliability: the latest fault-suite run

Written by \`npm run test:faults\` (faults/run.ts) on ${new Date().toISOString().slice(0, 10)}, commit ${commit}.

${selected.map((s) => `- **${s.name}**: ${s.what}.`).join("\n")}

${header}
|${"---|".repeat(13)}
${rows.join("\n")}

Columns: *sent/ok/failed* are creates by the load generator (a failed call is retried with the same
idempotency key on the other replica, up to 60 times); *committed* are invoices in PostgreSQL;
*published* outbox rows marked published (issued and document-ready events); *documents* PDFs
stored; *redeliveries* events seen on the topic more than once (at-least-once delivery, harmless);
*lost* acknowledged creates missing from the database; *duplicated effects* a second invoice for a
key, a second document-ready event or document for an invoice; *recovery* from the end of the
fault until every event is published and every invoice has READY documents.
Invariants checked: every acknowledged create is stored; per-tenant numbers are 1..N with no gap
or duplicate; every committed change is published and on the topic; every invoice ends READY with
exactly one document per format; no side effect happened twice.
`;
  mkdirSync("docs", { recursive: true });
  writeFileSync("docs/reliability.md", text);
  process.stdout.write(`\n${header}\n${rows.join("\n")}\n\nwritten to docs/reliability.md\n`);
}
