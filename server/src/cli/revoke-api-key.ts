// Revokes an API key: every gateway refuses it, and every server ends its open WatchInvoices
// streams, within RATE_LIMIT_LEASE_TTL_MS (default 1 s).
// Usage: npm run revoke-api-key -- <key-id> | <key-prefix>     (reads DATABASE_URL)
//        npm run revoke-api-key -- - < key-file               (a whole key: read from stdin, never argv)
import { apiKeyPattern } from "@invoicer/platform/api-key-format";
import { envReader, runMain } from "@invoicer/platform/config";
import { revokeApiKeyBy, type KeyToRevoke, type Revocation } from "../api-key-admin.ts";
import { openDatabase } from "../db/client.ts";
import { applyMigrations } from "../db/migrate.ts";
import { uuidPattern } from "../shared/ids.ts";

const usage = "usage: npm run revoke-api-key -- <key-id> | <key-prefix, as printed: inv_xxxx> | - (reads the whole key from stdin)\n";

await runMain(async () => {
  const which = await keyToRevoke(process.argv[2]);
  if (typeof which === "string") {
    process.stderr.write(which);
    process.exit(2);
  }
  const url = envReader(process.env).url("DATABASE_URL");
  await applyMigrations(url);
  const database = openDatabase(url, 1);
  try {
    const result = await revokeApiKeyBy(database.db, which);
    process.exitCode = result.kind === "revoked" ? 0 : 1;
    (result.kind === "revoked" ? process.stdout : process.stderr).write(outcome(result, which));
  } finally {
    await database.close();
  }
});

/** The key the argument names, or what to tell the operator instead. */
async function keyToRevoke(arg: string | undefined): Promise<KeyToRevoke | string> {
  if (arg === "-") {
    const apiKey = (await readStdin()).trim();
    return apiKeyPattern.test(apiKey) ? { apiKey } : "stdin does not hold an API key (inv_ and 32 characters)\n";
  }
  // Arguments show in ps and in shell history: a whole secret does not belong there.
  if (arg && apiKeyPattern.test(arg))
    return `a whole key goes on stdin, not on the command line:\n  npm run revoke-api-key -- - < key-file\n`;
  if (arg && uuidPattern.test(arg.toLowerCase())) return { keyId: arg.toLowerCase() };
  const prefix = arg?.replace(/\.\.\.$/, "");
  if (prefix && /^inv_[A-Za-z0-9_-]{4}$/.test(prefix)) return { prefix };
  return usage;
}

async function readStdin(): Promise<string> {
  let text = "";
  for await (const chunk of process.stdin) text += String(chunk);
  return text;
}

/** What to print: never more of a secret than its prefix. */
function outcome(result: Revocation, which: KeyToRevoke): string {
  switch (result.kind) {
    case "revoked":
      return `revoked key ${result.keyId} (${result.prefix}...)\n`;
    case "ambiguous":
      return `${"prefix" in which ? which.prefix : "the key"} names ${result.keyIds.length} active keys; revoke one by its id:\n${result.keyIds.map((id) => `  ${id}\n`).join("")}`;
    case "none": {
      const named = "keyId" in which ? which.keyId : `${"prefix" in which ? which.prefix : which.apiKey.slice(0, 8)}...`;
      return `no active key ${named}: unknown or already revoked\n`;
    }
  }
}
