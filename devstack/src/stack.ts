// The one assembly of the system on this machine (npm start, the bench, the fault suite, the API
// fuzz run): PostgreSQL and Kafka (startInfrastructure), then a declared topology of servers,
// consumers and gateways as child processes (`node <service>/src/main.ts`, as in the image), wired
// to each other by URL and token. The tests run the same services in their own process
// (devstack/src/in-process-stack.ts), where they need the services' insides.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { startLocalKafka, type LocalKafka, type LocalKafkaOptions } from "./local-kafka.ts";
import { startLocalPostgres, type LocalPostgres, type LocalPostgresOptions } from "./local-postgres.ts";
import { freePort } from "./ports.ts";
import { httpOk, serverServing, serviceProcess, type ProcessOptions, type ServiceProcess } from "./service-process.ts";

/** Environment variables; one set to undefined is removed from what the service inherits. */
export type Env = Record<string, string | undefined>;

export interface Infrastructure {
  /** The PostgreSQL cluster's URL (its default database), and the postmaster's pid (which changes on restart). */
  readonly postgres: LocalPostgres;
  readonly kafka: LocalKafka;
  /** Stops PostgreSQL, waits `downMs`, starts it again on its port and data. */
  restartPostgres(downMs: number): Promise<void>;
  /** Stops the broker, waits `downMs`, starts it again on its port and data. */
  restartKafka(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

export interface InfrastructureOptions {
  /** PostgreSQL's data lives in `<dataDir>/postgres`, Kafka's in `<dataDir>/kafka`. */
  dataDir: string;
  /** false: none is started (DATABASE_URL or KAFKA_BROKERS names one; the fault scenarios bring a Kafka cluster of their own). */
  postgres?: Partial<Omit<LocalPostgresOptions, "dataDir">> | false;
  kafka?: Omit<LocalKafkaOptions, "dataDir"> | false;
  /** Called as each one is ready. */
  onReady?: (what: "PostgreSQL" | "Kafka") => void;
}

/** PostgreSQL and a single Kafka broker, started side by side (each on a free port unless given one). */
export async function startInfrastructure({
  dataDir,
  postgres = {},
  kafka: kafkaOptions = {},
  onReady,
}: InfrastructureOptions): Promise<Infrastructure> {
  const pgOptions =
    postgres === false ? undefined : { ...postgres, dataDir: join(dataDir, "postgres"), port: postgres.port ?? (await freePort()) };
  const brokerOptions =
    kafkaOptions === false
      ? undefined
      : { ...kafkaOptions, dataDir: join(dataDir, "kafka"), port: kafkaOptions.port ?? (await freePort()) };
  const ready = <T>(what: "PostgreSQL" | "Kafka", started: T) => (onReady?.(what), started);
  const [pg, broker] = await Promise.allSettled([
    pgOptions && startLocalPostgres(pgOptions).then((p) => ready("PostgreSQL", p)),
    brokerOptions && startLocalKafka(brokerOptions).then((k) => ready("Kafka", k)),
  ]);
  if (pg.status === "rejected" || broker.status === "rejected") {
    await Promise.all([pg, broker].map((s) => (s.status === "fulfilled" ? s.value?.stop() : undefined)));
    throw pg.status === "rejected" ? pg.reason : (broker as PromiseRejectedResult).reason;
  }
  let [current, kafka] = [pg.value, broker.value];
  const running = () => kafka ?? raise("no Kafka broker was started (kafka: false)");
  const database = () => current ?? raise("no PostgreSQL was started (postgres: false)");
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms)); // a fault's timeline: "down for 5 s"
  return {
    get postgres() {
      return database();
    },
    get kafka() {
      return running();
    },
    async restartPostgres(downMs) {
      await database().stop();
      await pause(downMs);
      current = await startLocalPostgres(pgOptions!);
    },
    async restartKafka(downMs) {
      await running().stop();
      await pause(downMs);
      kafka = await startLocalKafka(brokerOptions!);
    },
    stop: async () => void (await Promise.all([current?.stop(), kafka?.stop()])),
  };
}

const raise = (message: string): never => {
  throw new Error(message);
};

/** One service of a topology. */
export interface ServiceSpec {
  /** Its name in logs and pids: "server", "server-a", "consumer-1". */
  name: string;
  /** Its variables over the topology's. */
  env?: Env;
  /** Its entry when not `<kind>/src/main.ts` (the fault suite's slow consumer). */
  entry?: string;
  /** SERVER_PORT, CONSUMER_HEALTH_PORT or GATEWAY_PORT; a free port when omitted. */
  port?: number;
  /** A server's SERVER_METRICS_PORT; a free port when omitted. */
  metricsPort?: number;
}

export interface Topology {
  /** The application database (migrated) and the brokers. */
  databaseUrl: string;
  brokers: string;
  servers: ServiceSpec[];
  consumers?: ServiceSpec[];
  gateways?: ServiceSpec[];
  /** Every service's variables (KAFKA_TOPIC, LOG_LEVEL), under each service's own. */
  env?: Env;
  /** Consumers and gateways list every server in SERVER_URL; otherwise the i-th talks to server i (round the list). */
  balanced?: boolean;
  /** INTERNAL_TOKEN and CONSUMER_TOKEN; fresh random ones when omitted. */
  tokens?: { internal: string; consumer: string };
  /** Each service's output goes to `<logDir>/<logPrefix><name>.log`, or to stdout with its name when "console". */
  logDir: string | "console";
  logPrefix?: string;
  /** Per service: node flags and a launcher (the bench's profiles and pod limits), and what to do when it crashes. */
  processOptions?: (name: string) => ProcessOptions;
}

export interface Service extends ServiceProcess {
  /** Where it listens: the server's RPC URL, the consumer's health URL, the gateway's URL. */
  url: string;
  /** A server's Prometheus endpoint (SERVER_METRICS_PORT). */
  metricsUrl?: string;
}

export interface Services {
  servers: Service[];
  consumers: Service[];
  gateways: Service[];
  internalToken: string;
  consumerToken: string;
  /** The log file of the service named so. */
  logOf(name: string): string;
  /** Each running service's pid by name. */
  pids(): Record<string, number | undefined>;
  /** A consumer more, not started, wired as the declared ones are. */
  addConsumer(spec: ServiceSpec): Promise<Service>;
  /** Starts the servers, then the consumers (unless `consumers` is false), then the gateways; each one ready before the next. */
  start(options?: { consumers?: boolean }): Promise<void>;
  /** Stops every service, the gateways first. */
  stop(): Promise<void>;
}

/** The topology's processes, wired but not started. */
export async function assembleServices(topology: Topology): Promise<Services> {
  const { internal: internalToken, consumer: consumerToken } = topology.tokens ?? {
    internal: randomBytes(24).toString("hex"),
    consumer: randomBytes(24).toString("hex"),
  };
  const logOf = (name: string) =>
    topology.logDir === "console" ? "console" : join(topology.logDir, `${topology.logPrefix ?? ""}${name}.log`);
  const url = (port: number) => `http://127.0.0.1:${port}`;
  const run = (spec: ServiceSpec, entry: string, env: Env, ready: () => Promise<boolean>) => {
    const options = topology.processOptions?.(spec.name);
    return serviceProcess(spec.name, spec.entry ?? entry, { ...topology.env, ...env, ...spec.env }, ready, logOf(spec.name), options);
  };
  const common = { KAFKA_BROKERS: topology.brokers };
  const servers = await Promise.all(
    topology.servers.map(async (spec): Promise<Service> => {
      const [port, metricsPort] = [spec.port ?? (await freePort()), spec.metricsPort ?? (await freePort())];
      const env = { ...common, DATABASE_URL: topology.databaseUrl, INTERNAL_TOKEN: internalToken, CONSUMER_TOKEN: consumerToken };
      const ports = { SERVER_PORT: String(port), SERVER_METRICS_PORT: String(metricsPort) };
      const child = run(spec, "server/src/main.ts", { ...env, ...ports }, serverServing(url(port)));
      return Object.assign(child, { url: url(port), metricsUrl: url(metricsPort) });
    }),
  );
  const serverUrlFor = (i: number) => (topology.balanced ? servers.map((s) => s.url).join(",") : servers[i % servers.length]!.url);
  const consumers: Service[] = [];
  // The consumer has its own token only: it may attach documents, not act as the gateway.
  const addConsumer = async (spec: ServiceSpec) => {
    const port = spec.port ?? (await freePort());
    const env = { ...common, SERVER_URL: serverUrlFor(consumers.length), INTERNAL_TOKEN: undefined, CONSUMER_TOKEN: consumerToken };
    const child = run(spec, "consumer/src/main.ts", { ...env, CONSUMER_HEALTH_PORT: String(port) }, httpOk(`${url(port)}/readyz`));
    consumers.push(Object.assign(child, { url: url(port) }));
    return consumers.at(-1)!;
  };
  for (const spec of topology.consumers ?? []) await addConsumer(spec);
  const gateways = await Promise.all(
    (topology.gateways ?? []).map(async (spec, i): Promise<Service> => {
      const port = spec.port ?? (await freePort());
      const env = { ...common, SERVER_URL: serverUrlFor(i), INTERNAL_TOKEN: internalToken, CONSUMER_TOKEN: undefined };
      const child = run(spec, "gateway/src/main.ts", { ...env, GATEWAY_PORT: String(port) }, httpOk(`${url(port)}/readyz`));
      return Object.assign(child, { url: url(port) });
    }),
  );
  const all = () => [...servers, ...consumers, ...gateways];
  return {
    servers,
    consumers,
    gateways,
    internalToken,
    consumerToken,
    logOf,
    addConsumer,
    pids: () => Object.fromEntries(all().map((s) => [s.name, s.pid()])),
    async start({ consumers: withConsumers = true } = {}) {
      for (const s of [...servers, ...(withConsumers ? consumers : []), ...gateways]) await s.start();
    },
    async stop() {
      for (const s of all().reverse()) await s.stop();
    },
  };
}
