// Creates an API key for a tenant (creating the tenant if new) and prints it once.
// Usage: npm run create-api-key -- <tenant-name>     (reads DATABASE_URL)
import { envReader, runMain } from "@invoicer/platform/config";
import { createApiKey } from "../api-key-admin.ts";
import { openDatabase } from "../db/client.ts";
import { applyMigrations } from "../db/migrate.ts";

await runMain(async () => {
  const tenantName = process.argv[2];
  if (!tenantName) {
    process.stderr.write("usage: npm run create-api-key -- <tenant-name>\n");
    process.exit(2);
  }
  const url = envReader(process.env).url("DATABASE_URL");
  await applyMigrations(url);
  const database = openDatabase(url, 1);
  try {
    const { tenantId, apiKey, keyId } = await createApiKey(database.db, tenantName);
    // The id (or the prefix) is what revoke-api-key takes later, so the secret need not be kept for it.
    process.stdout.write(`tenant ${tenantName} (${tenantId})\napi key ${apiKey}\nkey id ${keyId}\n`);
  } finally {
    await database.close();
  }
});
