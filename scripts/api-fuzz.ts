// `npm run test:api`: schemathesis (property-based API testing, from PyPI) against the real gateway,
// driven by the committed gateway/openapi.yaml. The stack is devstack/src/stack.ts's (embedded
// PostgreSQL, local Kafka, server, consumer and gateway as child processes); one API
// key is created for the run. Any 5xx, undocumented status or content type, or answer that does not
// fit the document fails the run. schemathesis goes into a venv under .data/ on the first run.
//   API_FUZZ_EXAMPLES=n  cases per operation and phase (default 300, about a minute of testing on
//   2 cores); API_FUZZ_SEED=n  repeats a run (schemathesis prints its seed).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { createAppDatabase, createTenants } from "@invoicer/devstack/app-database";
import { assembleServices, startInfrastructure, type Infrastructure, type Services } from "@invoicer/devstack/stack";
import { apiDocumentFile } from "../gateway/src/api-document.ts";

const schemathesisVersion = "4.32.5";
const workDir = resolve(".data", "api-fuzz");
const venv = resolve(".data", "api-fuzz-venv");
const checks = ["not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance"];
const examples = process.env.API_FUZZ_EXAMPLES ?? "300";
const junit = join(workDir, "junit.xml");
const started = Date.now();
const say = (line: string) => process.stdout.write(`[api-fuzz] ${line} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);

const schemathesis = ensureSchemathesis();
rmSync(workDir, { recursive: true, force: true });
mkdirSync(join(workDir, "logs"), { recursive: true });
let infrastructure: Infrastructure | undefined;
let services: Services | undefined;
let exitCode: number;
try {
  infrastructure = await startInfrastructure({ dataDir: workDir, postgres: { ephemeral: true }, kafka: { ephemeral: true } });
  say("PostgreSQL and Kafka ready");
  const databaseUrl = await createAppDatabase(infrastructure.postgres.url, "api_fuzz");
  const [tenant] = await createTenants(databaseUrl, ["api-fuzz"]);
  services = await assembleServices({
    databaseUrl,
    brokers: infrastructure.kafka.brokers,
    servers: [{ name: "server" }],
    consumers: [{ name: "consumer" }],
    // Limits well above what one schemathesis worker sends: a 429 would hide the answer under test.
    gateways: [{ name: "gateway", env: { RATE_LIMIT_PER_SECOND: "10000", RATE_LIMIT_BURST: "10000", WEB_DIR: workDir } }],
    env: { LOG_LEVEL: "info" },
    logDir: join(workDir, "logs"),
  });
  await services.start();
  const gatewayUrl = services.gateways[0]!.url;
  say(`server, consumer and gateway ready at ${gatewayUrl}; running schemathesis ${schemathesisVersion}`);
  exitCode = runSchemathesis(schemathesis, gatewayUrl, tenant!.apiKey);
  say(exitCode === 0 ? "no failures" : `schemathesis found failures (exit ${exitCode}); service logs in ${join(workDir, "logs")}`);
} finally {
  await services?.stop();
  await infrastructure?.stop();
  // The logs and the JUnit report stay in .data/api-fuzz for a look after a failure.
  rmSync(join(workDir, "postgres"), { recursive: true, force: true });
}
process.exit(exitCode);

/** Runs schemathesis against the gateway; its exit code (0 when every check held). */
function runSchemathesis(bin: string, gatewayUrl: string, apiKey: string): number {
  const args = [
    "run",
    apiDocumentFile,
    "--url",
    gatewayUrl,
    "--header",
    `Authorization: Bearer ${apiKey}`,
    "--checks",
    checks.join(","),
    "--max-examples",
    examples,
    "--workers",
    "1",
    "--request-timeout",
    "10",
    "--generation-database",
    "none",
    "--report",
    "junit",
    "--report-junit-path",
    junit,
    ...(process.env.API_FUZZ_SEED ? ["--seed", process.env.API_FUZZ_SEED] : []),
  ];
  // Run in the work dir: schemathesis keeps a cache (.schemathesis/) in its working directory.
  const run = spawnSync(bin, args, { cwd: workDir, stdio: "inherit", env: { ...process.env, NO_COLOR: "1" } });
  // One closing line in the form CI reads: the operations (and the stateful run) that held.
  const totals = existsSync(junit) ? /<testsuites ([^>]*)>/.exec(readFileSync(junit, "utf8"))?.[1] : undefined;
  const count = (name: string) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(totals ?? "")?.[1] ?? 0);
  const failed = count("failures") + count("errors");
  if (totals) process.stdout.write(`api-fuzz: ${count("tests") - failed - count("skipped")} passed, ${failed} failed\n`);
  return run.status ?? 1;
}

/** schemathesis from PyPI in .data/api-fuzz-venv, installed when missing or another version. */
function ensureSchemathesis(): string {
  const bin = join(venv, "bin", "schemathesis");
  const python = join(venv, "bin", "python");
  const installed = () =>
    existsSync(bin) &&
    spawnSync(python, ["-c", "import importlib.metadata as m; print(m.version('schemathesis'))"], { encoding: "utf8" }).stdout.trim();
  if (installed() === schemathesisVersion) return bin;
  const fail = (why: string): never => {
    process.stderr.write(`api-fuzz: ${why}\n`);
    process.exit(2);
  };
  if (spawnSync("python3", ["--version"]).status !== 0) {
    fail("python3 is not on PATH: it runs schemathesis in a venv under .data/ (apt-get install python3 python3-venv)");
  }
  if (spawnSync("python3", ["-c", "import venv, ensurepip"]).status !== 0) {
    fail("python3 has no venv/ensurepip module (apt-get install python3-venv)");
  }
  say(`installing schemathesis ${schemathesisVersion} into ${venv} (pip)`);
  rmSync(venv, { recursive: true, force: true });
  try {
    execFileSync("python3", ["-m", "venv", venv], { stdio: "inherit" });
    execFileSync(join(venv, "bin", "pip"), ["install", "--quiet", "--disable-pip-version-check", `schemathesis==${schemathesisVersion}`], {
      stdio: "inherit",
    });
  } catch {
    fail(`pip install schemathesis==${schemathesisVersion} into ${venv} failed (above)`);
  }
  return bin;
}
