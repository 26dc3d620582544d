// The application database as every local stack makes it (tests, the fault suite, the bench):
// a fresh database on a running cluster, migrated, with tenants and their API keys.
import postgres from "postgres";
import { createApiKey } from "../../server/src/api-key-admin.ts";
import { openDatabase } from "../../server/src/db/client.ts";
import { applyMigrations } from "../../server/src/db/migrate.ts";

/** Creates database `name` on the cluster `adminUrl` points at and applies the migrations; returns its URL. */
export async function createAppDatabase(adminUrl: string, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString();
  await applyMigrations(url);
  return url;
}

/** Creates each named tenant (when new) with a fresh API key. */
export async function createTenants(databaseUrl: string, names: string[]): Promise<{ name: string; tenantId: string; apiKey: string }[]> {
  const database = openDatabase(databaseUrl, 1);
  try {
    const tenants = [];
    for (const name of names) tenants.push({ name, ...(await createApiKey(database.db, name)) });
    return tenants;
  } finally {
    await database.close();
  }
}
