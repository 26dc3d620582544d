import { Gauge, type Registry } from "@invoicer/platform/metrics";
import { sql as expr } from "drizzle-orm";
import type { Sql } from "postgres";
import { drizzleOn } from "../db/client.ts";
import { awaitingDocuments, awaitingRelay, parkedRows } from "../db/predicates.ts";
import { invoices, outbox } from "../db/schema.ts";

// A type, not an interface: drizzle's execute() takes row types that are records.
type Reading = {
  backlog: number;
  oldestAge: number;
  parked: number;
  pendingDocuments: number;
  oldestPendingDocumentAge: number;
};

/** Reads what an operator watches of the event pipeline's state in PostgreSQL: one query. */
export async function readPipelineState(sql: Sql): Promise<Reading> {
  const db = drizzleOn(sql);
  const count = expr<number>`count(*)::int`;
  const oldestAge = (createdAt: typeof outbox.createdAt | typeof invoices.createdAt) =>
    expr<number>`coalesce(extract(epoch from now() - min(${createdAt})), 0)::float8`;
  // Each figure a subquery drizzle builds, selected together in one statement.
  const [row] = await db.execute<Reading>(expr`select
    (${db.select({ count }).from(outbox).where(awaitingRelay)}) as backlog,
    (${db
      .select({ age: oldestAge(outbox.createdAt) })
      .from(outbox)
      .where(awaitingRelay)}) as "oldestAge",
    (${db.select({ count }).from(outbox).where(parkedRows)}) as parked,
    (${db.select({ count }).from(invoices).where(awaitingDocuments)}) as "pendingDocuments",
    (${db
      .select({ age: oldestAge(invoices.createdAt) })
      .from(invoices)
      .where(awaitingDocuments)}) as "oldestPendingDocumentAge"`);
  return row!;
}

/** The outbox and documents gauges, read from PostgreSQL at each scrape (NaN while it cannot be reached). */
export function outboxMetrics(registry: Registry, sql: Sql): void {
  // Every gauge is collected during one scrape: they share one query.
  let reading: Promise<Reading | undefined> | undefined;
  const read = () =>
    (reading ??= readPipelineState(sql)
      .catch(() => undefined)
      .finally(() => (reading = undefined)));
  const gauge = (name: string, help: string, value: (r: Reading) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const r = await read();
        this.set(r ? value(r) : Number.NaN);
      },
    });
  gauge("invoicer_outbox_backlog", "Outbox rows committed but not yet published to Kafka (parked rows aside).", (r) => r.backlog);
  gauge(
    "invoicer_outbox_oldest_age_seconds",
    "Age of the oldest unpublished outbox row; 0 when everything is published.",
    (r) => r.oldestAge,
  );
  gauge(
    "invoicer_outbox_parked",
    "Outbox rows the broker refused for good, set aside until retried (npm run outbox -- parked).",
    (r) => r.parked,
  );
  gauge("invoicer_documents_pending", "Invoices whose documents are not attached yet.", (r) => r.pendingDocuments);
  gauge(
    "invoicer_documents_pending_oldest_age_seconds",
    "Age of the oldest invoice still waiting for its documents (npm run outbox -- redrive-documents re-drives them).",
    (r) => r.oldestPendingDocumentAge,
  );
}
