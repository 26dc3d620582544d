// Targets 1-3: GetInvoice and CreateInvoice against their SQL floors, and the gateway against
// Envoy in front of the same server, every path side by side in each round at one concurrency.
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { InvoiceService } from "@invoicer/sdk";
import { sampleInvoice } from "@invoicer/devstack/samples";
import { internalTokenHeader, tenantHeader } from "@invoicer/platform/internal-auth";
import postgres from "postgres";
import { startEnvoy } from "./envoy.ts";
import { createInvoiceTemplate, runGhz, type LoadRun } from "./ghz.ts";
import { grpcWebLoop } from "./grpc-web.ts";
import type { PeerTools } from "./peer-tools.ts";
import { createInvoiceScript, getInvoiceScript, runPgbench } from "./pgbench.ts";
import { median, table, target, type Target } from "./results.ts";
import type { Stack, Tenant } from "./stack.ts";
import { cpuWindow, type Pids } from "./usage.ts";

export interface CallsOptions {
  tools: PeerTools;
  stack: Stack;
  seconds: number;
  warmupS: number;
  rounds: number;
  concurrency: number;
  /** Path ids to run; all when undefined. */
  paths?: string[];
  workDir: string;
  say: (line: string) => void;
}

interface Path {
  id: string;
  label: string;
  proxy?: "gateway" | "envoy";
  run(seconds: number): Promise<LoadRun>;
  runs: LoadRun[];
  /** CPU ms of each process over the measured windows. */
  cpuMs: Record<string, number>;
}

async function seedInvoices(gatewayUrl: string, tenant: Tenant, count: number): Promise<string[]> {
  const client = createClient(InvoiceService, createConnectTransport({ baseUrl: gatewayUrl, httpVersion: "1.1" }));
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const { invoice } = await client.createInvoice(sampleInvoice(), { headers: { authorization: `Bearer ${tenant.apiKey}` } });
    ids.push(invoice!.id);
  }
  return ids;
}

/** Runs the section; resolves with its table, its targets and the floors' scripts. */
export async function callsSection(o: CallsOptions) {
  const { stack } = o;
  const tenant = await o.stack.tenant("calls");
  const ids = await seedInvoices(stack.gatewayUrl, tenant, 16);
  const floor = await stack.floorDatabase();
  const scripts = {
    get: await getInvoiceScript(stack.databaseUrl, tenant.id, ids[0]!),
    create: await createInvoiceScript(floor.url, floor.tenant.id),
  };
  const internal = { token: stack.internalToken, tenantId: tenant.id };
  const envoy = await startEnvoy(o.tools.envoy, stack.serverUrl, internal, join(o.workDir, "envoy"));
  try {
    const every = paths(o, tenant, ids, envoy.url, { url: floor.url, ...scripts });
    const unknown = o.paths?.filter((id) => !every.some((p) => p.id === id)) ?? [];
    if (unknown.length > 0) throw new Error(`--paths: ${unknown.join(", ")} not among ${every.map((p) => p.id).join(", ")}`);
    const all = every.filter((p) => !o.paths || o.paths.includes(p.id));
    await rounds(o, all, () => ({ ...stack.pids(), envoy: envoy.pid }));
    const { rows, targets, md, envoyCpuVsDirect } = summarise(all);
    const floorRows = await floorRowsCheck(stack.databaseUrl, floor.url, ids[0]!);
    const context = `For context: CPU per call through Envoy (Envoy + server) / direct = ${envoyCpuVsDirect.toFixed(2)}.`;
    const sql = `The SQL floors (pgbench -M prepared, on the same cluster, so with the same durability):\n\n\`\`\`sql\n${scripts.get}${scripts.create}\`\`\``;
    return { rows, targets, scripts, floorRows, md: ["## Calls (targets 1-3)", md, `${context}\n${floorRows}`, sql].join("\n\n") };
  } finally {
    await envoy.stop();
  }
}

type Floor = { url: string; get: string; create: string };

function paths(o: CallsOptions, tenant: Tenant, ids: string[], envoyUrl: string, floor: Floor): Path[] {
  const { stack, tools, concurrency } = o;
  const apiKey = { authorization: `Bearer ${tenant.apiKey}` };
  const internal = { [internalTokenHeader]: stack.internalToken, [tenantHeader]: tenant.id };
  const gets = ids.map((id) => ({ id }));
  const ghz = (method: "GetInvoice" | "CreateInvoice", url: string, data: unknown, metadata: Record<string, string>) => (seconds: number) =>
    runGhz(tools.ghz, { method, target: new URL(url).host, data, metadata }, { concurrency, seconds });
  const pgbench = (url: string, script: string, vars?: Record<string, string>) => (seconds: number) =>
    runPgbench(tools.pgbench, url, script, { clients: concurrency, seconds, workDir: o.workDir, vars });
  const web = (url: string, headers: Record<string, string>) => (seconds: number) =>
    grpcWebLoop(url, headers, ids, { concurrency, seconds });
  const path = (id: string, label: string, run: Path["run"], proxy?: Path["proxy"]): Path => ({
    id,
    label,
    run,
    proxy,
    runs: [],
    cpuMs: {},
  });
  return [
    path(
      "get-floor",
      "GetInvoice, SQL floor: its 2 reads (pgbench)",
      pgbench(stack.databaseUrl, floor.get, { tenant: tenant.id, id: ids[0]! }),
    ),
    path("get-server", "GetInvoice, server direct, gRPC (ghz)", ghz("GetInvoice", stack.serverUrl, gets, internal)),
    path("get-gateway", "GetInvoice, gateway, gRPC (ghz)", ghz("GetInvoice", stack.gatewayUrl, gets, apiKey), "gateway"),
    path("get-envoy", "GetInvoice, Envoy, gRPC (ghz)", ghz("GetInvoice", envoyUrl, gets, {}), "envoy"),
    path("get-gateway-web", "GetInvoice, gateway, gRPC-web (Node client)", web(stack.gatewayUrl, apiKey), "gateway"),
    path("get-envoy-web", "GetInvoice, Envoy, gRPC-web (Node client)", web(envoyUrl, {}), "envoy"),
    path("create-floor", "CreateInvoice, SQL floor: issueInvoice's transaction (pgbench)", pgbench(floor.url, floor.create)),
    path(
      "create-gateway",
      "CreateInvoice, gateway, gRPC (ghz)",
      ghz("CreateInvoice", stack.gatewayUrl, createInvoiceTemplate(), apiKey),
      "gateway",
    ),
  ];
}

/** Each round runs every path in turn: a warm-up run, then a measured one with the CPU time of each process. */
async function rounds(o: CallsOptions, all: Path[], pids: () => Pids): Promise<void> {
  for (let round = 1; round <= o.rounds; round++) {
    for (const p of all) {
      o.say(`round ${round}/${o.rounds}: ${p.label}, ${o.concurrency} concurrent, ${o.warmupS} s warm-up + ${o.seconds} s ...`);
      if (o.warmupS > 0) await p.run(o.warmupS);
      const end = await cpuWindow(pids());
      const run = await p.run(o.seconds);
      for (const [name, ms] of Object.entries(await end())) p.cpuMs[name] = (p.cpuMs[name] ?? 0) + ms;
      p.runs.push(run);
      const failed = `${run.errors} failed${run.firstError ? ` (${run.firstError})` : ""}`;
      o.say(`  ${run.callsPerSecond.toFixed(0)} calls/s, p50 ${run.p50Ms.toFixed(2)} ms, p99 ${run.p99Ms.toFixed(2)} ms, ${failed}`);
    }
  }
}

/** One path's medians over its rounds, and its CPU per call. */
function pathRow({ id, label, proxy, runs, cpuMs }: Path) {
  const [calls, errors] = [runs.reduce((a, r) => a + r.calls, 0), runs.reduce((a, r) => a + r.errors, 0)];
  const perCall = (name?: string) => (name && calls > 0 ? (cpuMs[name] ?? NaN) / calls : undefined);
  const med = (key: "callsPerSecond" | "p50Ms" | "p99Ms") => median(runs.map((r) => r[key]));
  const [proxyCpuMsPerCall, serverCpuMsPerCall] = [perCall(proxy), perCall(id.endsWith("floor") ? undefined : "server")];
  const perRound = runs.map((r) => Math.round(r.callsPerSecond));
  return {
    id,
    label,
    callsPerSecond: med("callsPerSecond"),
    perRound,
    p50Ms: med("p50Ms"),
    p99Ms: med("p99Ms"),
    calls,
    errors,
    proxyCpuMsPerCall,
    serverCpuMsPerCall,
  };
}

function summarise(all: Path[]) {
  const rows = all.map(pathRow);
  const row = (id: string) => rows.find((r) => r.id === id)!;
  const failed = (...ids: string[]) => {
    const bad = ids.filter((id) => row(id).errors > row(id).calls / 1000);
    return bad.length > 0 ? `failed calls in ${bad.join(", ")}` : undefined;
  };
  const ratio = (label: string, a: string, b: string, limit: number) =>
    target(label, row(a).callsPerSecond / row(b).callsPerSecond, ">=", limit, "x", failed(a, b));
  const cpu = (id: string) => (row(id).serverCpuMsPerCall ?? NaN) + (row(id).proxyCpuMsPerCall ?? 0);
  // Each target with the paths it compares; one is judged only when both ran (--paths).
  const ran = (...ids: string[]) => ids.every((id) => rows.some((r) => r.id === id));
  const targets: Target[] = [
    ran("get-server", "get-floor") && ratio("1. GetInvoice server direct / its SQL floor, calls/s", "get-server", "get-floor", 0.5),
    ran("create-gateway", "create-floor") &&
      ratio("2. CreateInvoice via gateway / its SQL floor, calls/s", "create-gateway", "create-floor", 0.5),
    ran("get-gateway", "get-envoy") && ratio("3. gateway / Envoy, gRPC GetInvoice calls/s", "get-gateway", "get-envoy", 1),
    ran("get-gateway-web", "get-envoy-web") &&
      ratio("3. gateway / Envoy, gRPC-web GetInvoice calls/s", "get-gateway-web", "get-envoy-web", 1),
    ran("get-gateway", "get-server") &&
      target(
        "3. CPU per GetInvoice: gateway + server / server direct",
        cpu("get-gateway") / cpu("get-server"),
        "<=",
        1.1,
        "x",
        failed("get-gateway", "get-server"),
      ),
  ].filter((t): t is Target => t !== false);
  const md = table(
    ["path", "calls/s", "per round", "p50 ms", "p99 ms", "failed", "proxy CPU ms/call", "server CPU ms/call"],
    rows.map((r) => [
      r.label,
      r.callsPerSecond,
      r.perRound.join(", "),
      r.p50Ms,
      r.p99Ms,
      String(r.errors),
      r.proxyCpuMsPerCall,
      r.serverCpuMsPerCall,
    ]),
  );
  return { rows, targets, md, envoyCpuVsDirect: ran("get-envoy", "get-server") ? cpu("get-envoy") / cpu("get-server") : NaN };
}

/** The floor's rows against the server's: as many of each as issueInvoice writes, and an invoice alike but for its ids and number. */
async function floorRowsCheck(serverUrl: string, floorUrl: string, serverInvoiceId: string): Promise<string> {
  const [server, floor] = [postgres(serverUrl, { max: 1 }), postgres(floorUrl, { max: 1 })];
  const shape = (sql: postgres.Sql, where: postgres.PendingQuery<postgres.Row[]>) =>
    sql`select to_jsonb(i) - 'id' - 'tenant_id' - 'number' - 'created_at' as row from invoices i where ${where} limit 1`;
  try {
    const [counts] =
      await floor`select (select count(*) from invoices)::int as invoices, (select count(*) from invoice_lines)::int as lines,
      (select count(*) from outbox)::int as outbox, (select count(*) from idempotency_keys)::int as keys`;
    const [a] = await shape(server, server`id = ${serverInvoiceId}`);
    const [b] = await shape(floor, floor`true`);
    const { invoices, lines, outbox, keys } = counts!;
    const whole = outbox === invoices && keys === invoices && lines === invoices * sampleInvoice().lines.length;
    const alike = JSON.stringify(a?.row) === JSON.stringify(b?.row);
    return [
      `floor rows after the run: ${invoices} invoices, ${lines} lines, ${outbox} outbox rows, ${keys} idempotency keys (as issueInvoice writes them: ${whole ? "yes" : "NO"});`,
      `a floor invoice equals the server's but for id, tenant, number and created_at: ${alike ? "yes" : "NO"}`,
    ].join(" ");
  } finally {
    await Promise.all([server.end(), floor.end()]);
  }
}
