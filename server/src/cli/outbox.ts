// Operating the event pipeline by hand (reads DATABASE_URL and DOCUMENTS_STALE_AFTER_MS):
//   npm run outbox -- parked                          events the broker refused for good, set aside
//   npm run outbox -- retry [<event-id>...]           puts them (all, or the given ones) back in line
//   npm run outbox -- redrive-documents [--pending-minutes N] [<invoice-id>...]
//                                                     publishes again the issued event of still-ISSUED
//                                                     invoices whose documents are PENDING N minutes
//                                                     after it went out (N at least, and by default,
//                                                     DOCUMENTS_STALE_AFTER_MS: sooner they may be in flight)
import { envReader, runMain } from "@invoicer/platform/config";
import postgres from "postgres";
import { documentsStaleAfterMs } from "../config.ts";
import { redriveDocuments } from "../documents/redrive.ts";
import { listParked, retryParked } from "../outbox/parked.ts";

const usage = "usage: npm run outbox -- parked | retry [<event-id>...] | redrive-documents [--pending-minutes N] [<invoice-id>...]\n";

await runMain(async () => {
  const [command, ...args] = process.argv.slice(2);
  const env = envReader(process.env);
  const sql = postgres(env.url("DATABASE_URL"), { max: 1, onnotice: () => {} });
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
      const minutes = pendingMinutes(args, documentsStaleAfterMs(env));
      if (minutes === undefined) return void (process.exitCode = 2);
      const { redriven, movedOn } = await redriveDocuments(sql, { pendingForMs: minutes * 60_000, invoiceIds: args });
      process.stdout.write(`${redriven.length} invoices re-driven${redriven.length ? `: ${redriven.join(" ")}` : ""}\n`);
      if (movedOn.length) process.stdout.write(`${movedOn.length} paid or voided since, not re-driven: ${movedOn.join(" ")}\n`);
    } else {
      process.stderr.write(usage);
      process.exitCode = 2;
    }
  } finally {
    await sql.end();
  }
});

/**
 * Takes `--pending-minutes N` out of `args`: N, or undefined (with the reason on stderr) when it is
 * shorter than the server's DOCUMENTS_STALE_AFTER_MS, the wait after which documents are overdue;
 * sooner, the consumer may still be rendering them and a re-drive only renders them twice.
 */
function pendingMinutes(args: string[], staleAfterMs: number): number | undefined {
  const least = Math.ceil(staleAfterMs / 60_000);
  const at = args.indexOf("--pending-minutes");
  const minutes = at >= 0 ? Number(args.splice(at, 2)[1]) : least;
  if (Number.isFinite(minutes) && minutes >= least) return minutes;
  process.stderr.write(
    `--pending-minutes must be at least ${least} (DOCUMENTS_STALE_AFTER_MS): younger documents may still be in flight\n`,
  );
  return undefined;
}
