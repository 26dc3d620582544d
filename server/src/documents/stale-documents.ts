import type { Logger } from "@invoicer/platform/logger";
import type { Sql } from "postgres";

/**
 * Every `everyMs`, logs a warning while some invoice has waited longer than `staleAfterMs` for its
 * documents: the consumer is down or stuck, or its event was dead-lettered. Returns a stop function.
 */
export function watchStaleDocuments(sql: Sql, log: Logger, staleAfterMs: number, everyMs = 60_000): () => void {
  const check = async () => {
    const [row] = await sql<{ n: number }[]>`
      select count(*)::int as n from invoices
      where document_status = 'PENDING' and created_at < now() - make_interval(secs => ${staleAfterMs / 1000})`;
    if (row && row.n > 0) {
      log.warn(
        { invoices: row.n, staleAfterMs },
        "invoices have waited too long for their documents; check the consumer and its dead-letter topic, then run npm run outbox -- redrive-documents",
      );
    }
  };
  const timer = setInterval(() => void check().catch(() => undefined), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
