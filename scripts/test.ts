// `npm test`: runs every test file against one real PostgreSQL and one real Kafka broker: the ones
// in DATABASE_URL and KAFKA_BROKERS when set, else an embedded PostgreSQL and a local KRaft Kafka
// started here on free ports and removed afterwards. Debian's Chromium, which the browser test
// drives, is installed with apt-get when it is missing.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startInfrastructure } from "@invoicer/devstack/stack";

// Arguments are test files (all of test/ when none) and node --test flags such as --test-name-pattern=...
const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith("--"));
const only = args.filter((a) => !a.startsWith("--"));
const files = only.length > 0 ? only : testFiles("test");
if (files.some((f) => f.endsWith("browser.test.ts"))) installChromium();
const dataDir = join(".data", `test-${process.pid}`);
const started = Date.now();
const infrastructure = await startInfrastructure({
  dataDir,
  postgres: !process.env.DATABASE_URL && { ephemeral: true },
  kafka: !process.env.KAFKA_BROKERS && { ephemeral: true },
  onReady: (what) =>
    process.stdout.write(`${what === "Kafka" ? "local Kafka (KRaft)" : "embedded PostgreSQL"} ready in ${Date.now() - started} ms\n`),
});
const databaseUrl = process.env.DATABASE_URL ?? infrastructure.postgres.url;
const kafkaBrokers = process.env.KAFKA_BROKERS ?? infrastructure.kafka.brokers;

const child = spawn(process.execPath, ["--import", "tsx", "--test", "--test-reporter=spec", ...flags, ...files], {
  stdio: "inherit",
  env: { ...process.env, TEST_DATABASE_URL: databaseUrl, TEST_KAFKA_BROKERS: kafkaBrokers, KAFKAJS_NO_PARTITIONER_WARNING: "1" },
});
const stop = () => child.kill("SIGTERM");
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
const code = await new Promise<number>((done) => child.on("exit", (c) => done(c ?? 1)));
await infrastructure.stop();
rmSync(dataDir, { recursive: true, force: true });
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
