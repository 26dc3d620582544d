// `npm test`: runs every test file against one real PostgreSQL and one real Kafka broker: the ones
// in DATABASE_URL and KAFKA_BROKERS when set, else an embedded PostgreSQL and a local KRaft Kafka
// started here on free ports and removed afterwards. Debian's Chromium, which the browser test
// drives, is installed with apt-get when it is missing.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startLocalKafka, type LocalKafka } from "@invoicer/devstack/local-kafka";
import { startLocalPostgres, type LocalPostgres } from "@invoicer/devstack/local-postgres";
import { freePort } from "@invoicer/devstack/ports";

// Arguments are test files (all of test/ when none) and node --test flags such as --test-name-pattern=...
const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith("--"));
const only = args.filter((a) => !a.startsWith("--"));
const files = only.length > 0 ? only : testFiles("test");
if (files.some((f) => f.endsWith("browser.test.ts"))) installChromium();
let postgres: LocalPostgres | undefined;
let kafka: LocalKafka | undefined;
const dataDir = join(".data", `test-postgres-${process.pid}`);
const timed = async <T>(what: string, start: () => Promise<T>) => {
  const started = Date.now();
  const value = await start();
  process.stdout.write(`${what} ready in ${Date.now() - started} ms\n`);
  return value;
};
const [databaseUrl, kafkaBrokers] = await Promise.all([
  process.env.DATABASE_URL ??
    timed(
      "embedded PostgreSQL",
      async () => (postgres = await startLocalPostgres({ dataDir, port: await freePort(), ephemeral: true })).url,
    ),
  process.env.KAFKA_BROKERS ??
    timed(
      "local Kafka (KRaft)",
      async () => (kafka = await startLocalKafka({ dataDir: join(".data", `test-kafka-${process.pid}`), ephemeral: true })).brokers,
    ),
]);

const child = spawn(process.execPath, ["--import", "tsx", "--test", "--test-reporter=spec", ...flags, ...files], {
  stdio: "inherit",
  env: { ...process.env, TEST_DATABASE_URL: databaseUrl, TEST_KAFKA_BROKERS: kafkaBrokers, KAFKAJS_NO_PARTITIONER_WARNING: "1" },
});
const stop = () => child.kill("SIGTERM");
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
const code = await new Promise<number>((done) => child.on("exit", (c) => done(c ?? 1)));
await Promise.all([postgres?.stop(), kafka?.stop()]);
if (postgres) rmSync(dataDir, { recursive: true, force: true });
process.exit(code);

/** playwright-core never downloads a browser; the test uses Debian's (or CHROMIUM_PATH). */
function installChromium() {
  if (existsSync(process.env.CHROMIUM_PATH ?? "/usr/bin/chromium")) return;
  if (process.getuid?.() !== 0) {
    process.stderr.write("Chromium is missing: run `sudo apt-get install -y chromium` (or set CHROMIUM_PATH), then npm test again\n");
    process.exit(2);
  }
  process.stdout.write("installing Debian's chromium for the browser test (apt-get) ...\n");
  const apt = { stdio: "inherit" as const, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } };
  execFileSync("apt-get", ["update"], apt);
  execFileSync("apt-get", ["install", "-y", "chromium"], apt);
}

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".test.ts"))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}
