// Applies the committed migrations and exits (reads DATABASE_URL): what the server does at start-up,
// alone, for a deploy that migrates before the new servers roll (the Helm chart's hook Job):
//   node server/src/cli/migrate.ts
import { envReader, runMain } from "@invoicer/platform/config";
import { applyMigrations } from "../db/migrate.ts";

await runMain(async () => {
  const started = Date.now();
  await applyMigrations(envReader(process.env).url("DATABASE_URL"));
  process.stdout.write(`migrations applied in ${Date.now() - started} ms\n`);
});
