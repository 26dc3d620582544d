// ghz calling the public InvoiceService over gRPC (h2c), and what every load run reports.
import { spawn } from "node:child_process";
import { toJson } from "@bufbuild/protobuf";
import { CreateInvoiceRequestSchema } from "@invoicer/sdk";
import { documentedInvoice, sampleInvoice } from "@invoicer/devstack/samples";

export interface LoadRun {
  calls: number;
  errors: number;
  firstError?: string;
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export interface GhzCall {
  method: "GetInvoice" | "CreateInvoice";
  /** host:port */
  target: string;
  /** One request, or an array ghz sends round-robin; strings may hold ghz template functions. */
  data: unknown;
  metadata: Record<string, string>;
}

/** devstack's sample invoice in proto JSON, with a new idempotency key per call (ghz's {{newUUID}}). */
export const createInvoiceTemplate = () => toJson(CreateInvoiceRequestSchema, sampleInvoice({ idempotencyKey: "bench-{{newUUID}}" }));
/** The documents section's invoice: one every format's profile takes, so each is rendered in all five. */
export const documentedInvoiceTemplate = () =>
  toJson(CreateInvoiceRequestSchema, documentedInvoice({ idempotencyKey: "bench-{{newUUID}}" }));

export function spawnCollect(command: string, args: string[], cwd?: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((done, fail) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let [stdout, stderr] = ["", ""];
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", fail);
    child.once("exit", (code) => done({ code, stdout, stderr }));
  });
}

interface GhzReport {
  count: number;
  total: number;
  latencyDistribution?: { percentage: number; latency: number }[] | null;
  statusCodeDistribution?: Record<string, number>;
  errorDistribution?: Record<string, number> | null;
}

// ghz cancels the calls in flight when --duration ends: those are not failures of the target.
const endOfRun = /use of closed network connection|the client connection is closing|context canceled/;

/** One ghz run: `concurrency` workers for `seconds`, closed-loop, or paced at `rps` calls/s. */
export async function runGhz(ghz: string, call: GhzCall, load: { concurrency: number; seconds: number; rps?: number }): Promise<LoadRun> {
  const args = [
    ...["--insecure", "--proto", "proto/invoicer/v1/invoice_service.proto", "--import-paths", "proto,third_party"],
    ...["--call", `invoicer.v1.InvoiceService/${call.method}`, "--data", JSON.stringify(call.data)],
    ...["--metadata", JSON.stringify(call.metadata), "--concurrency", String(load.concurrency), "--connections", "1", "--cpus", "1"],
    ...(load.rps ? ["--rps", String(load.rps)] : []),
    ...["--duration", `${load.seconds}s`, "--timeout", "10s", "--format", "json", call.target],
  ];
  const run = await spawnCollect(ghz, args);
  if (run.stdout.trim() === "") throw new Error(`ghz ${call.method} against ${call.target} failed: ${run.stderr.trim()}`);
  const report = JSON.parse(run.stdout) as GhzReport;
  const ok = report.statusCodeDistribution?.OK ?? 0;
  const errors = Object.entries(report.errorDistribution ?? {});
  const cut = Math.min(
    load.concurrency,
    errors.filter(([m]) => endOfRun.test(m)).reduce((a, [, n]) => a + n, 0),
  );
  const percentile = (p: number) => (report.latencyDistribution?.find((d) => d.percentage === p)?.latency ?? NaN) / 1e6;
  return {
    calls: ok,
    errors: report.count - ok - cut,
    firstError: errors.find(([m]) => !endOfRun.test(m))?.[0],
    // ghz's own rps counts failures too: this is successful calls over ghz's run time.
    callsPerSecond: report.total > 0 ? ok / (report.total / 1e9) : NaN,
    p50Ms: percentile(50),
    p99Ms: percentile(99),
  };
}
