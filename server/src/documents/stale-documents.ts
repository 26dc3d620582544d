import type { Logger } from "@invoicer/platform/logger";
import { and, lt, sql as expr } from "drizzle-orm";
import type { Sql } from "postgres";
import { drizzleOn } from "../db/client.ts";
import { awaitingDocuments, msAgo } from "../db/predicates.ts";
import { invoices } from "../db/schema.ts";

/**
 * Every `everyMs`, logs a warning while some invoice has waited longer than `staleAfterMs` for its
 * documents: the consumer is down or stuck, or its event was dead-lettered. Returns a stop function.
 */
export function watchStaleDocuments(sql: Sql, log: Logger, staleAfterMs: number, everyMs = 60_000): () => void {
  const check = async () => {
    const [row] = await drizzleOn(sql)
      .select({ n: expr<number>`count(*)::int` })
      .from(invoices)
      .where(and(awaitingDocuments, lt(invoices.createdAt, msAgo(staleAfterMs))));
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
