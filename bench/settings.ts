// What one `npm run bench` measures and for how long: BENCH_* variables, all optional.
import { envReader } from "@invoicer/platform/config";

export type Section = "throughput" | "events" | "consumers";
const allSections: Section[] = ["throughput", "events", "consumers"];

/** Processes already running, measured instead of started (memory, start-up and consumer throughput are skipped). */
export interface ReusedStack {
  gatewayUrl: string;
  serverUrl: string;
  internalToken: string;
  databaseUrl: string;
  kafkaBrokers: string;
  topic: string;
}

export interface BenchSettings {
  concurrency: number[];
  warmupMs: number;
  cellMs: number;
  /** Extra back-to-back rounds of the two throughput ratios at 32 concurrent calls. */
  pairRounds: number;
  /** Tenants (API keys) the closed-loop workers use: worker w is tenant w mod tenants. */
  tenants: number;
  /** The server's DATABASE_POOL_SIZE, and the SQL floor's pool. */
  poolSize: number;
  eventRates: number[];
  eventMs: number;
  eventWarmupMs: number;
  settleMs: number;
  consumerInvoices: number;
  logLevel: string;
  deadlineMs: number;
  sections: Set<Section>;
  /** Services started with --cpu-prof (gateway, server, consumer-1, ...); profiles go to bench/results/tmp/prof. */
  cpuProfile: string[];
  /** Where the --cpu-prof files go (a directory per service); bench/results/tmp/prof when unset. */
  profileDir?: string;
  /** Only these methods and target ids in the throughput section (all when empty): for a focused profile. */
  methods: string[];
  targets: string[];
  /** Results go to bench/results/<output>.{json,md,svg}; a partial run should not overwrite "latest". */
  output: string;
  reuse?: ReusedStack;
}

export function loadBenchSettings(env: Record<string, string | undefined>): BenchSettings {
  const e = envReader(env);
  const numbers = (name: string, fallback: number[]) => {
    const list = e.list(name).map(Number);
    if (list.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`${name} must be a comma-separated list of positive integers`);
    return list.length > 0 ? list : fallback;
  };
  const concurrency = numbers("BENCH_CONCURRENCY", [1, 8, 32, 128]);
  const sections = new Set(e.list("BENCH_SECTIONS", allSections) as Section[]);
  for (const s of sections)
    if (!allSections.includes(s)) throw new Error(`BENCH_SECTIONS: unknown section "${s}" (${allSections.join(", ")})`);
  const gatewayUrl = e.optional("BENCH_GATEWAY_URL");
  return {
    concurrency,
    warmupMs: e.int("BENCH_WARMUP_MS", 1_000, 0, 60_000),
    cellMs: e.int("BENCH_CELL_MS", 3_000, 500, 60_000),
    pairRounds: e.int("BENCH_PAIR_ROUNDS", 2, 0, 20),
    tenants: e.int("BENCH_TENANTS", Math.max(...concurrency), 1, 10_000),
    poolSize: e.int("BENCH_POOL_SIZE", 20, 1, 500),
    eventRates: numbers("BENCH_EVENT_RATES", [20, 100]),
    eventMs: e.int("BENCH_EVENT_MS", 10_000, 1_000, 120_000),
    eventWarmupMs: e.int("BENCH_EVENT_WARMUP_MS", 2_000, 0, 60_000),
    settleMs: e.int("BENCH_SETTLE_MS", 45_000, 1_000, 600_000),
    consumerInvoices: e.int("BENCH_CONSUMER_INVOICES", 300, 10, 100_000),
    logLevel: e.logLevel("BENCH_LOG_LEVEL"),
    deadlineMs: e.int("BENCH_DEADLINE_MS", 570_000, 10_000, 3_600_000),
    sections,
    cpuProfile: e.list("BENCH_CPU_PROFILE"),
    methods: e.list("BENCH_METHODS"),
    targets: e.list("BENCH_TARGETS"),
    output: e.string("BENCH_OUTPUT", "latest"),
    reuse: gatewayUrl
      ? {
          gatewayUrl,
          serverUrl: e.url("BENCH_SERVER_URL"),
          internalToken: e.secret("BENCH_INTERNAL_TOKEN"),
          databaseUrl: e.url("BENCH_DATABASE_URL"),
          kafkaBrokers: e.string("BENCH_KAFKA_BROKERS"),
          topic: e.string("BENCH_KAFKA_TOPIC", "invoice-events"),
        }
      : undefined,
  };
}
