// Revokes an API key: every gateway refuses it within RATE_LIMIT_LEASE_TTL_MS (default 1 s).
// Usage: npm run revoke-api-key -- <api-key>     (reads DATABASE_URL)
import { envReader, runMain } from "@invoicer/platform/config";
import { revokeApiKey } from "../api-keys.ts";
import { openDatabase } from "../db/client.ts";
import { applyMigrations } from "../db/migrate.ts";

await runMain(async () => {
  const apiKey = process.argv[2];
  if (!apiKey) {
    process.stderr.write("usage: npm run revoke-api-key -- <api-key>\n");
    process.exit(2);
  }
  const url = envReader(process.env).url("DATABASE_URL");
  await applyMigrations(url);
  const database = openDatabase(url, 1);
  try {
    if (!(await revokeApiKey(database.db, apiKey))) {
      process.stderr.write(`no active key ${apiKey.slice(0, 8)}...: unknown or already revoked\n`);
      process.exitCode = 1;
      return;
    }
    process.stdout.write(`revoked ${apiKey.slice(0, 8)}...\n`);
  } finally {
    await database.close();
  }
});
