// A one-off measure of the create path on its own: CreateInvoice through the server's service
// (validation, pricing, the two prepared statements, the answer) on connect's in-memory transport,
// against a throwaway embedded PostgreSQL; no gateway, relay, Kafka or HTTP. Prints calls/s.
//   npx tsx bench/issue-speed.ts [invoices=3000] [concurrency=16] [rounds=3]
import { rmSync } from "node:fs";
import { join } from "node:path";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { InvoiceService } from "@invoicer/sdk";
import { internalTokenHeader, tenantHeader } from "@invoicer/platform/internal-auth";
import { startObservability } from "@invoicer/platform/observability";
import { createAppDatabase, createTenants } from "@invoicer/devstack/app-database";
import { startLocalPostgres } from "@invoicer/devstack/local-postgres";
import { freePort } from "@invoicer/devstack/ports";
import { sampleInvoice } from "@invoicer/devstack/samples";
import { openDatabase } from "../server/src/db/client.ts";
import { invoiceService } from "../server/src/invoices/invoice-service.ts";
import type { InvoiceWatch } from "../server/src/invoices/watch.ts";
import { trustedCallers } from "../server/src/rpc/callers.ts";

const [count = 3000, concurrency = 16, rounds = 3] = process.argv.slice(2).map(Number);
const token = "issue-speed-internal-token-0123456789";
const dataDir = join(".data", `issue-speed-${process.pid}`);
const pg = await startLocalPostgres({ dataDir, port: await freePort(), ephemeral: true });
try {
  const url = await createAppDatabase(pg.url, "issue_speed");
  const [tenant] = await createTenants(url, ["issue-speed"]);
  const database = openDatabase(url, concurrency);
  const { tracer } = startObservability("bench", { serviceName: "bench" });
  const transport = createRouterTransport((r) => r.service(InvoiceService, invoiceService(database.db, {} as InvoiceWatch, tracer)), {
    router: { interceptors: [trustedCallers(token)] },
  });
  const client = createClient(InvoiceService, transport);
  const headers = { [internalTokenHeader]: token, [tenantHeader]: tenant!.tenantId };
  let key = 0;
  const run = async (n: number) => {
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next++ < n) await client.createInvoice(sampleInvoice({ idempotencyKey: `k-${key++}` }), { headers });
      }),
    );
    return n / ((performance.now() - started) / 1000);
  };
  await run(Math.min(500, count)); // warm-up: JIT, prepared statements, pool
  const rates: number[] = [];
  for (let i = 0; i < rounds; i++) rates.push(await run(count));
  const median = [...rates].sort((a, b) => a - b)[Math.floor(rates.length / 2)]!;
  console.log(
    `create: ${count} invoices x ${rounds} rounds, concurrency ${concurrency}: ${rates.map((r) => r.toFixed(0)).join(", ")} calls/s; median ${median.toFixed(0)}`,
  );
  await database.close();
} finally {
  await pg.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
