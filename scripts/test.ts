// `npm test`: runs every test file against one real PostgreSQL, the one in DATABASE_URL when set,
// else an embedded one started here on a free port and removed afterwards.
import { spawn } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startLocalPostgres, type LocalPostgres } from "@invoicer/platform/local-postgres";
import { freePort } from "@invoicer/platform/ports";

const only = process.argv.slice(2);
const files = only.length > 0 ? only : testFiles("test");
let postgres: LocalPostgres | undefined;
const dataDir = join(".data", `test-postgres-${process.pid}`);
let databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  const started = Date.now();
  postgres = await startLocalPostgres({ dataDir, port: await freePort(), ephemeral: true });
  databaseUrl = postgres.url;
  process.stdout.write(`embedded PostgreSQL ready in ${Date.now() - started} ms\n`);
}

const child = spawn(process.execPath, ["--import", "tsx", "--test", "--test-reporter=spec", ...files], {
  stdio: "inherit",
  env: { ...process.env, TEST_DATABASE_URL: databaseUrl },
});
const stop = () => child.kill("SIGTERM");
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
const code = await new Promise<number>((done) => child.on("exit", (c) => done(c ?? 1)));
await postgres?.stop();
if (postgres) rmSync(dataDir, { recursive: true, force: true });
process.exit(code);

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".test.ts"))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}
