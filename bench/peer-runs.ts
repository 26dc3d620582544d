// One measured run of each peer: pgbench replaying GetInvoice's two reads, ghz calling GetInvoice
// over gRPC, and Envoy as the proxy to compare the gateway with. Each reports calls/s, p50/p99.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join, resolve } from "node:path";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { internalTokenHeader, tenantHeader } from "@invoicer/platform/internal-auth";
import * as schema from "../server/src/db/schema.ts";
import { findInvoice } from "../server/src/invoices/invoice-store.ts";
import { summarize } from "./load.ts";

export interface PeerRun {
  calls: number;
  errors: number;
  /** Calls still in flight when the run ended, cut by the tool (ghz reports them as Unavailable). */
  cutAtEnd?: number;
  firstError?: string;
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  windowMs: number;
}

/**
 * The statements GetInvoice sends, captured from the server's own findInvoice through a drizzle
 * logger, with its parameters turned into pgbench variables (:tenant, :id).
 */
export async function getInvoiceStatements(databaseUrl: string, tenantId: string, id: string): Promise<string[]> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const statements: string[] = [];
  try {
    const db = drizzle({
      client: sql,
      schema,
      logger: {
        logQuery(query, params) {
          statements.push(
            query.replace(/\$(\d+)/g, (whole, n: string) => {
              const value = params[Number(n) - 1];
              return value === tenantId ? ":tenant" : value === id ? ":id" : whole;
            }),
          );
        },
      },
    });
    if (!(await findInvoice(db, tenantId, id))) throw new Error(`invoice ${id} not found for the SQL floor`);
  } finally {
    await sql.end({ timeout: 5 });
  }
  if (statements.some((s) => /\$\d/.test(s)))
    throw new Error(`a GetInvoice statement has a parameter pgbench cannot fill: ${statements.join("; ")}`);
  return statements;
}

function spawnCollect(command: string, args: string[], cwd?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", fail);
    child.once("exit", (code) => done({ code, stdout, stderr }));
  });
}

/**
 * pgbench with a custom script of the two reads, `clients` connections, extended query protocol
 * with unnamed statements (as postgres.js sends drizzle's), one transaction = one GetInvoice.
 * `onWindow` brackets the measured run only (not the warm-up).
 */
export async function runPgbench(options: {
  pgbench: string;
  databaseUrl: string;
  statements: string[];
  tenantId: string;
  invoiceId: string;
  clients: number;
  threads: number;
  warmupS: number;
  seconds: number;
  workDir: string;
  onWindow?: (edge: "start" | "end") => void;
}): Promise<PeerRun> {
  const dir = resolve(options.workDir, "pgbench");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const script = join(dir, "get-invoice.sql");
  writeFileSync(script, options.statements.map((s) => `${s};\n`).join(""));
  // pgbench takes a libpq URI as its database name; the libpq URI has no "postgres.js only" parameters here.
  const common = [
    "-n",
    "-M",
    "extended",
    "-c",
    String(options.clients),
    "-j",
    String(options.threads),
    "-f",
    script,
    "-D",
    `tenant=${options.tenantId}`,
    "-D",
    `id=${options.invoiceId}`,
  ];
  if (options.warmupS > 0) {
    const warm = await spawnCollect(options.pgbench, [...common, "-T", String(options.warmupS), options.databaseUrl]);
    if (warm.code !== 0) throw new Error(`pgbench warm-up failed: ${warm.stderr.trim()}`);
  }
  options.onWindow?.("start");
  const started = performance.now();
  const run = await spawnCollect(
    options.pgbench,
    [...common, "-T", String(options.seconds), "-l", "--log-prefix", join(dir, "log"), options.databaseUrl],
    dir,
  );
  const windowMs = performance.now() - started;
  options.onWindow?.("end");
  if (run.code !== 0) throw new Error(`pgbench failed: ${run.stderr.trim()}`);
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(run.stdout);
  const failed = /number of failed transactions: (\d+)/.exec(run.stdout);
  // Per-transaction log lines: client_id transaction_no latency_us script_no epoch_s epoch_us.
  const latencies: number[] = [];
  for (const file of readdirSync(dir).filter((f) => f.startsWith("log"))) {
    for (const line of readFileSync(join(dir, file), "utf8").split("\n")) {
      const latency = Number(line.split(" ")[2]);
      if (Number.isFinite(latency) && line !== "") latencies.push(latency / 1000);
    }
  }
  const summary = summarize(latencies);
  return {
    calls: summary.n,
    errors: Number(failed?.[1] ?? 0),
    callsPerSecond: Number(tps?.[1] ?? NaN),
    p50Ms: summary.p50,
    p99Ms: summary.p99,
    windowMs,
  };
}

interface GhzReport {
  count: number;
  total: number;
  rps: number;
  latencyDistribution?: { percentage: number; latency: number }[] | null;
  statusCodeDistribution?: Record<string, number>;
  errorDistribution?: Record<string, number> | null;
}

/** ghz calling invoicer.v1.InvoiceService/GetInvoice over gRPC (h2c) with `metadata`, round-robin over `ids`. */
export async function runGhz(options: {
  ghz: string;
  target: string;
  metadata: Record<string, string>;
  ids: string[];
  concurrency: number;
  connections: number;
  cpus: number;
  warmupS: number;
  seconds: number;
  onWindow?: (edge: "start" | "end") => void;
}): Promise<PeerRun> {
  const args = (seconds: number) => [
    "--insecure",
    "--proto",
    "proto/invoicer/v1/invoice_service.proto",
    "--import-paths",
    "proto",
    "--call",
    "invoicer.v1.InvoiceService/GetInvoice",
    "--data",
    JSON.stringify(options.ids.map((id) => ({ id }))),
    "--metadata",
    JSON.stringify(options.metadata),
    "--concurrency",
    String(options.concurrency),
    "--connections",
    String(options.connections),
    "--cpus",
    String(options.cpus),
    "--duration",
    `${seconds}s`,
    "--timeout",
    "10s",
    "--format",
    "json",
    options.target,
  ];
  if (options.warmupS > 0) {
    const warm = await spawnCollect(options.ghz, args(options.warmupS));
    if (warm.code !== 0 && warm.stdout === "") throw new Error(`ghz warm-up against ${options.target} failed: ${warm.stderr.trim()}`);
  }
  options.onWindow?.("start");
  const started = performance.now();
  const run = await spawnCollect(options.ghz, args(options.seconds));
  const windowMs = performance.now() - started;
  options.onWindow?.("end");
  if (run.stdout.trim() === "") throw new Error(`ghz against ${options.target} failed: ${run.stderr.trim()}`);
  const report = JSON.parse(run.stdout) as GhzReport;
  const ok = report.statusCodeDistribution?.OK ?? 0;
  const percentile = (p: number) => (report.latencyDistribution?.find((d) => d.percentage === p)?.latency ?? NaN) / 1e6;
  // ghz cancels the calls in flight when --duration ends: at most one per concurrent worker.
  const endOfRun = /use of closed network connection|the client connection is closing|context canceled/;
  const errors = Object.entries(report.errorDistribution ?? {});
  const cut = Math.min(
    options.concurrency,
    errors.filter(([message]) => endOfRun.test(message)).reduce((a, [, n]) => a + n, 0),
  );
  const real = errors.filter(([message]) => !endOfRun.test(message));
  return {
    calls: ok,
    errors: report.count - ok - cut,
    cutAtEnd: cut,
    firstError: real[0]?.[0],
    // ghz's rps counts failures too; calls/s here is successful calls over ghz's own run time.
    callsPerSecond: report.total > 0 ? ok / (report.total / 1e9) : NaN,
    p50Ms: percentile(50),
    p99Ms: percentile(99),
    windowMs,
  };
}

/** A static Envoy config: h2c/HTTP/1.1 in (gRPC, gRPC-web), HTTP/2 to the server, the internal headers added. */
export function envoyConfig(options: {
  listenPort: number;
  adminPort: number;
  serverPort: number;
  internalToken: string;
  tenantId: string;
}) {
  const overwrite = (key: string, value: string) => ({ header: { key, value }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" });
  return {
    admin: { address: { socket_address: { address: "127.0.0.1", port_value: options.adminPort } } },
    static_resources: {
      listeners: [
        {
          name: "ingress",
          address: { socket_address: { address: "127.0.0.1", port_value: options.listenPort } },
          filter_chains: [
            {
              filters: [
                {
                  name: "envoy.filters.network.http_connection_manager",
                  typed_config: {
                    "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                    stat_prefix: "ingress",
                    codec_type: "AUTO",
                    route_config: {
                      virtual_hosts: [
                        {
                          name: "server",
                          domains: ["*"],
                          routes: [{ match: { prefix: "/" }, route: { cluster: "server", timeout: "0s" } }],
                          request_headers_to_add: [
                            overwrite(internalTokenHeader, options.internalToken),
                            overwrite(tenantHeader, options.tenantId),
                          ],
                        },
                      ],
                    },
                    http_filters: [
                      {
                        name: "envoy.filters.http.grpc_web",
                        typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb" },
                      },
                      {
                        name: "envoy.filters.http.router",
                        typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" },
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [
        {
          name: "server",
          type: "STATIC",
          connect_timeout: "1s",
          load_assignment: {
            cluster_name: "server",
            endpoints: [
              { lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: options.serverPort } } } }] },
            ],
          },
          typed_extension_protocol_options: {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
              "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
              explicit_http_config: { http2_protocol_options: {} },
            },
          },
        },
      ],
    },
  };
}

export interface EnvoyProcess {
  pid(): number | undefined;
  stop(): Promise<void>;
}

/** Envoy with one worker thread (--concurrency 1), ready once its admin /ready says LIVE. */
export async function startEnvoy(
  envoy: string,
  config: ReturnType<typeof envoyConfig>,
  workDir: string,
  logFile: string,
): Promise<EnvoyProcess> {
  mkdirSync(workDir, { recursive: true });
  const path = join(workDir, "envoy.json");
  writeFileSync(path, JSON.stringify(config, null, 2));
  const log = openSync(logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(envoy, ["-c", path, "--concurrency", "1", "--log-level", "warn", "--disable-hot-restart"], {
      stdio: ["ignore", log, log],
    });
  } finally {
    closeSync(log);
  }
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const adminPort = config.admin.address.socket_address.port_value;
  const listenPort = config.static_resources.listeners[0]!.address.socket_address.port_value;
  const deadline = performance.now() + 30_000;
  for (;;) {
    if (exited()) throw new Error(`envoy exited while starting; see ${logFile}`);
    const ready = await fetch(`http://127.0.0.1:${adminPort}/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready && (await portOpen(listenPort))) break;
    if (performance.now() > deadline) throw new Error(`envoy not ready within 30 s; see ${logFile}`);
    await new Promise((r) => setTimeout(r, 50)); // readiness is only visible by asking
  }
  return {
    pid: () => (exited() ? undefined : child.pid),
    async stop() {
      if (exited()) return;
      const gone = new Promise((done) => child.once("exit", done));
      child.kill("SIGTERM");
      const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await gone;
      clearTimeout(kill);
    },
  };
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), done(true)));
    socket.once("error", () => done(false));
  });
}
