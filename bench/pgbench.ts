// The SQL floors: pgbench replaying the server's own statements, prepared (-M prepared, as
// postgres.js sends them), one pgbench transaction per call. GetInvoice's two reads are captured
// from findInvoice; CreateInvoice's transaction is issueInvoice's two statements with the values
// newInvoice builds, each inlined as PostgreSQL's own text of it, and the per-call values as
// pgbench expressions.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { sampleInvoice } from "@invoicer/devstack/samples";
import { openDatabase } from "../server/src/db/client.ts";
import * as schema from "../server/src/db/schema.ts";
import { invoiceEvent } from "../server/src/invoices/events.ts";
import { newInvoice } from "../server/src/invoices/invoice-service.ts";
import {
  claimNumberParams,
  claimNumberSql,
  findInvoice,
  insertIssuedParams,
  insertIssuedSql,
  issuedRecord,
} from "../server/src/invoices/invoice-store.ts";
import { outboxRow } from "../server/src/outbox/outbox-writer.ts";
import { spawnCollect, type LoadRun } from "./ghz.ts";
import { percentile } from "./results.ts";

/** GetInvoice's statements as findInvoice sends them, its parameters as pgbench variables :tenant and :id. */
export async function getInvoiceScript(databaseUrl: string, tenantId: string, id: string): Promise<string> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const statements: string[] = [];
  const logger = {
    logQuery: (query: string, params: unknown[]) =>
      statements.push(
        query.replace(/\$(\d+)/g, (all, n: string) => ({ [tenantId]: ":tenant", [id]: ":id" })[String(params[Number(n) - 1])] ?? all),
      ),
  };
  try {
    if (!(await findInvoice(drizzle({ client: sql, schema, logger }), tenantId, id))) throw new Error(`invoice ${id} not found`);
  } finally {
    await sql.end({ timeout: 5 });
  }
  if (statements.some((s) => /\$\d/.test(s))) throw new Error(`a GetInvoice parameter is not :tenant or :id: ${statements.join("; ")}`);
  return statements.map((s) => `${s};\n`).join("");
}

// Stand-ins for the values that differ per call, found again in PostgreSQL's text of each parameter.
const perCall = {
  "00000000-0000-4000-8000-00000000b001": "lpad(to_hex(:r::bigint), 32, '0')::uuid::text", // the invoice id
  "00000000-0000-4000-8000-00000000e001": "lpad(to_hex(:e::bigint), 32, '0')::uuid::text", // the outbox event id
  "bench-floor-key": "'floor-' || :r::text", // the idempotency key
  "918273645546372819": ":number::text", // the number the claim returned (\gset)
};
const standIn = new RegExp(`(${Object.keys(perCall).join("|")})`);
const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** Each parameter of `statement` as an SQL expression of its type: PostgreSQL's text of the value, stand-ins replaced. */
async function inlined(sql: postgres.Sql, statement: string, params: unknown[]): Promise<string> {
  const args = params as postgres.ParameterOrJSON<never>[];
  const { types } = await sql.unsafe(statement, args).describe();
  const names = await sql<{ t: string }[]>`select t::regtype::text as t from unnest(${types}::oid[]) with ordinality as u(t, n) order by n`;
  const cast = (i: number) => `$${i + 1}::${names[i]!.t}::text`;
  const [texts] = await sql.unsafe(`select ${params.map((_, i) => `${cast(i)} as p${i}`).join(", ")}`, args);
  const expressions = params.map((_, i) => {
    const text = texts![`p${i}`] as string | null;
    if (text === null) return `null::${names[i]!.t}`;
    const parts = text.split(standIn).filter((p) => p !== "");
    const value = parts.map((p) => perCall[p as keyof typeof perCall] ?? quote(p)).join(" || ") || "''";
    return `(${value})::${names[i]!.t}`;
  });
  return statement.replace(/\$(\d+)(?!\d)/g, (_, n: string) => expressions[Number(n) - 1]!);
}

/** issueInvoice's transaction for the sample invoice, as a pgbench script: BEGIN; claim \gset; insert; COMMIT. */
export async function createInvoiceScript(databaseUrl: string, tenantId: string): Promise<string> {
  const [id, eventId, key, number] = Object.keys(perCall) as [string, string, string, string];
  const draft = { ...newInvoice(sampleInvoice({ idempotencyKey: key }), tenantId, () => "2026-11-24"), id };
  const invoice = issuedRecord(draft, BigInt(number), new Date());
  const event = outboxRow(tenantId, id, { ...invoiceEvent("issued")(invoice), id: eventId });
  // The server's own client: drizzle sets its serializers (jsonb goes as the text drizzle made).
  const database = openDatabase(databaseUrl, 1);
  try {
    const claim = await inlined(database.sql, claimNumberSql, claimNumberParams(draft));
    const insert = await inlined(database.sql, insertIssuedSql, insertIssuedParams(invoice, event));
    const random = "random(1, 9223372036854775807)";
    return `\\set r ${random}\n\\set e ${random}\nBEGIN;\n${claim}\n\\gset\n${insert};\nCOMMIT;\n`;
  } finally {
    await database.close();
  }
}

/** pgbench running `script` with `clients` connections for `seconds`; calls/s is its tps, latencies from its log. */
export async function runPgbench(
  pgbench: string,
  databaseUrl: string,
  script: string,
  load: { clients: number; seconds: number; workDir: string; vars?: Record<string, string> },
): Promise<LoadRun> {
  const dir = join(load.workDir, "pgbench");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "script.sql"), script);
  const vars = Object.entries(load.vars ?? {}).flatMap(([k, v]) => ["-D", `${k}=${v}`]);
  const args = ["-n", "-M", "prepared", "-c", String(load.clients), "-j", "1", "-f", "script.sql", ...vars];
  const run = await spawnCollect(pgbench, [...args, "-T", String(load.seconds), "-l", "--log-prefix", "log", databaseUrl], dir);
  if (run.code !== 0) throw new Error(`pgbench failed: ${run.stderr.trim()}`);
  // Log lines: client_id transaction_no latency_us script_no epoch_s epoch_us.
  const latencies = readdirSync(dir)
    .filter((f) => f.startsWith("log"))
    .flatMap((f) => readFileSync(join(dir, f), "utf8").split("\n"))
    .filter((line) => line !== "")
    .map((line) => Number(line.split(" ")[2]) / 1000)
    .sort((a, b) => a - b);
  const failed = /number of failed transactions: (\d+)/.exec(run.stdout);
  return {
    calls: latencies.length,
    errors: Number(failed?.[1] ?? 0),
    callsPerSecond: Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(run.stdout)?.[1] ?? NaN),
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  };
}
