import { Gauge, type Registry } from "@invoicer/platform/metrics";
import type { Sql } from "postgres";

interface Reading {
  backlog: number;
  oldestAge: number;
  parked: number;
  pendingDocuments: number;
  oldestPendingDocumentAge: number;
}

/** Reads what an operator watches of the event pipeline's state in PostgreSQL: one query. */
export async function readPipelineState(sql: Sql): Promise<Reading> {
  const [row] = await sql<Reading[]>`
    select
      (select count(*)::int from outbox where published_at is null and parked_at is null) as backlog,
      (select coalesce(extract(epoch from now() - min(created_at)), 0)::float8 from outbox where published_at is null and parked_at is null) as "oldestAge",
      (select count(*)::int from outbox where published_at is null and parked_at is not null) as parked,
      (select count(*)::int from invoices where document_status = 'PENDING') as "pendingDocuments",
      (select coalesce(extract(epoch from now() - min(created_at)), 0)::float8 from invoices where document_status = 'PENDING') as "oldestPendingDocumentAge"`;
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
