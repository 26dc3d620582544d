// Operating the event pipeline by hand (reads DATABASE_URL):
//   npm run outbox -- parked                          events the broker refused for good, set aside
//   npm run outbox -- retry [<event-id>...]           puts them (all, or the given ones) back in line
//   npm run outbox -- redrive-documents [--pending-minutes N] [<invoice-id>...]
//                                                     publishes again the issued event of invoices whose
//                                                     documents are still PENDING after N minutes (default 10)
import { envReader, runMain } from "@invoicer/platform/config";
import postgres from "postgres";
import { redriveDocuments } from "../documents/redrive.ts";
import { listParked, retryParked } from "../outbox/parked.ts";

const usage = "usage: npm run outbox -- parked | retry [<event-id>...] | redrive-documents [--pending-minutes N] [<invoice-id>...]\n";

await runMain(async () => {
  const [command, ...args] = process.argv.slice(2);
  const sql = postgres(envReader(process.env).url("DATABASE_URL"), { max: 1, onnotice: () => {} });
  try {
    if (command === "parked") {
      const parked = await listParked(sql);
      for (const p of parked)
        process.stdout.write(
          `${p.id} invoice ${p.invoiceId} ${p.eventType} ${p.bytes} bytes, since ${p.parkedAt.toISOString()}: ${p.reason}\n`,
        );
      process.stdout.write(`${parked.length} parked\n`);
    } else if (command === "retry") {
      process.stdout.write(`${await retryParked(sql, args)} put back in line\n`);
    } else if (command === "redrive-documents") {
      const at = args.indexOf("--pending-minutes");
      const minutes = at >= 0 ? Number(args.splice(at, 2)[1]) : 10;
      if (!Number.isFinite(minutes) || minutes < 0) throw new Error("--pending-minutes takes a number of minutes");
      const invoices = await redriveDocuments(sql, { pendingForMs: minutes * 60_000, invoiceIds: args });
      process.stdout.write(`${invoices.length} invoices re-driven${invoices.length ? `: ${invoices.join(" ")}` : ""}\n`);
    } else {
      process.stderr.write(usage);
      process.exitCode = 2;
    }
  } finally {
    await sql.end();
  }
});
