// `npm start`: the whole system on this machine, no Docker. PostgreSQL is embedded unless
// DATABASE_URL is set and Kafka runs locally (KRaft) unless KAFKA_BROKERS is set; the server,
// the consumer and the gateway run as child processes (`node <service>/src/main.ts`) with prefixed logs.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { ConfigError, envReader, runMain } from "@invoicer/platform/config";
import { assertPortFree } from "@invoicer/devstack/ports";
import { assembleServices, startInfrastructure } from "@invoicer/devstack/stack";
import { createApiKey, hashApiKey } from "../server/src/api-key-admin.ts";
import { openDatabase } from "../server/src/db/client.ts";
import { applyMigrations } from "../server/src/db/migrate.ts";
import { apiKeys } from "../server/src/db/schema.ts";
import { ensureWebBuilt } from "./web-build.ts";

// INVOICER_DATA_DIR: another place for the cluster, the broker and the kept keys (the bench starts on a scratch one).
const dataDir = process.env.INVOICER_DATA_DIR ?? ".data";
const step = (what: string, since: number) => console.log(`[start] ${what} (${Date.now() - since} ms)`);

await runMain(async () => {
  const t0 = Date.now();
  // The services run their .ts files on Node's own type stripping (docs/decisions/0038), not on tsx as this script does.
  if (!process.features.typescript)
    throw new ConfigError(
      `Node ${process.version} cannot run the services' TypeScript: use Node 24.12+ (bash scripts/with-node.sh 24 npm start)`,
    );
  const env = envReader(process.env);
  const gatewayPort = env.port("GATEWAY_PORT", 8080);
  const serverPort = env.port("SERVER_PORT", 8081);
  await assertPortFree(gatewayPort, "GATEWAY_PORT", "the gateway");
  await assertPortFree(serverPort, "SERVER_PORT", "the server");
  const serverMetricsPort = env.port("SERVER_METRICS_PORT", 8083);
  await assertPortFree(serverMetricsPort, "SERVER_METRICS_PORT", "the server's metrics");
  const consumerHealthPort = env.port("CONSUMER_HEALTH_PORT", 8082);
  await assertPortFree(consumerHealthPort, "CONSUMER_HEALTH_PORT", "the consumer's health endpoint");
  mkdirSync(dataDir, { recursive: true });
  // PostgreSQL and Kafka run in their own process groups, so Ctrl-C reaches only this and the services.
  // Until the services run it just exits: the exit handlers of startLocalPostgres/Kafka stop them.
  // One Ctrl-C arrives twice (from the terminal, and forwarded by npm): stopAll runs once.
  const running: { stopAll?: () => Promise<void> } = {};
  const onSignal = () => void (running.stopAll ? running.stopAll() : process.exit(130));
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const databaseUrl = env.optional("DATABASE_URL");
  const kafkaBrokers = env.optional("KAFKA_BROKERS");
  if (!databaseUrl) console.log(`[start] starting embedded PostgreSQL (data in ${join(dataDir, "postgres")}) ...`);
  if (!kafkaBrokers)
    console.log(
      `[start] starting Kafka in KRaft mode (data in ${join(dataDir, "kafka")}; the first run downloads its jars with Maven) ...`,
    );
  // Each in a process group of its own (above), on its port unless DATABASE_URL or KAFKA_BROKERS names one.
  const own = (port: number, portVariable: string) => ({ port, portVariable, ownProcessGroup: true });
  const starting = startInfrastructure({
    dataDir,
    postgres: !databaseUrl && own(env.port("PGPORT", 5433), "PGPORT"),
    kafka: !kafkaBrokers && own(env.port("KAFKA_PORT", 9092), "KAFKA_PORT"),
    onReady: (what) => step(`${what} ready`, t0),
  });
  // The gateway serves web/dist, so it is built (when stale) before the gateway starts.
  const buildWeb = () =>
    ensureWebBuilt().then(
      (ms) => ms !== undefined && console.log(`[start] web app built in ${ms} ms`),
      (err: Error) => console.error(`[start] the web app is not served: ${err.message}`),
    );
  const [infrastructure] = await Promise.all([starting, buildWeb()]);
  const database = databaseUrl ?? infrastructure.postgres.url;
  const brokers = kafkaBrokers ?? infrastructure.kafka.brokers;
  await applyMigrations(database);
  const apiKey = await demoApiKey(database);
  const internalToken = env.optional("INTERNAL_TOKEN") ?? kept("internal-token", () => randomBytes(24).toString("hex"));
  const consumerToken = env.optional("CONSUMER_TOKEN") ?? kept("consumer-token", () => randomBytes(24).toString("hex"));
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      // Each is SIGKILLed if it has not stopped 15 s after SIGTERM (its own grace period is 10 s).
      await services.stop();
      await infrastructure.stop();
      console.log("[start] stopped");
      process.exit(0);
    })());
  const services = await assembleServices({
    databaseUrl: database,
    brokers,
    tokens: { internal: internalToken, consumer: consumerToken },
    servers: [{ name: "server", port: serverPort, metricsPort: serverMetricsPort }],
    consumers: [{ name: "consumer", port: consumerHealthPort }],
    gateways: [{ name: "gateway", port: gatewayPort }],
    logDir: "console",
    // A service that stops cleanly on the terminal's own Ctrl-C is not a crash.
    processOptions: (name) => ({
      readyPollMs: 200,
      onCrash: (how) => how !== "exit code 0" && (console.error(`[start] ${name} exited (${how}); stopping`), void stopAll()),
    }),
  });
  running.stopAll = stopAll;
  // A start cut short by Ctrl-C is not an error: stopAll exits once everything has stopped.
  const unlessStopping = <T>(started: Promise<T>) => started.catch((err: unknown) => stopping ?? Promise.reject(err));
  // All three spawn at once: the gateway and the consumer wait for the server themselves.
  const consumerReady = unlessStopping(services.consumers[0]!.start());
  await unlessStopping(Promise.all([...services.servers, ...services.gateways].map((s) => s.start())));
  step("server and gateway ready", t0);
  await consumerReady;
  step("consumer ready", t0);

  console.log(`
Gateway   ${gatewayUrl}   (Connect, gRPC-web and REST over HTTP/1.1; gRPC over HTTP/2)
API key   ${apiKey}      (demo tenant, kept in ${join(dataDir, "demo-api-key")})
Web app   ${gatewayUrl}/#key=${apiKey}   (the key is in the fragment, which the browser never sends)

Try:
  npx buf curl --protocol grpc --http2-prior-knowledge -H "Authorization: Bearer ${apiKey}" ${gatewayUrl}/invoicer.v1.InvoiceService/ListInvoices
  curl -H "Authorization: Bearer ${apiKey}" ${gatewayUrl}/v1/invoices
  curl -OJ -H "Authorization: Bearer ${apiKey}" ${gatewayUrl}/v1/invoices/<id>/pdf

Ctrl-C stops everything.
invoicer ready gateway=${gatewayUrl} api-key=${apiKey}`);
});

/** The demo tenant's key, created once and kept in the data dir so it survives restarts. */
async function demoApiKey(databaseUrl: string): Promise<string> {
  const file = join(dataDir, "demo-api-key");
  const database = openDatabase(databaseUrl, 1);
  try {
    if (existsSync(file)) {
      const key = readFileSync(file, "utf8").trim();
      const found = await database.db
        .select()
        .from(apiKeys)
        .where(eq(apiKeys.keyHash, hashApiKey(key)));
      if (found.length > 0 && !found[0]!.revokedAt) return key;
    }
    const { apiKey } = await createApiKey(database.db, "demo");
    writeFileSync(file, `${apiKey}\n`, { mode: 0o600 });
    return apiKey;
  } finally {
    await database.close();
  }
}

function kept(name: string, make: () => string): string {
  const file = join(dataDir, name);
  if (!existsSync(file)) writeFileSync(file, `${make()}\n`, { mode: 0o600 });
  return readFileSync(file, "utf8").trim();
}
