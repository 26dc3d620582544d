import { Gauge, type Registry } from "@invoicer/platform/metrics";
import type { Sql } from "postgres";

/** The outbox's backlog and the age of its oldest unpublished row, read from PostgreSQL at each scrape. */
export function outboxMetrics(registry: Registry, sql: Sql): void {
  // Both gauges are collected at once during a scrape: they share one query.
  let reading: Promise<{ n: number; age: number } | undefined> | undefined;
  const read = () =>
    (reading ??= sql<{ n: number; age: number }[]>`
      select count(*)::int as n, coalesce(extract(epoch from now() - min(created_at)), 0)::float8 as age
      from outbox where published_at is null`
      .then(([row]) => row)
      // The database is unreachable: the scrape still answers, with NaN for what it cannot know.
      .catch(() => undefined)
      .finally(() => (reading = undefined)));
  new Gauge({
    name: "invoicer_outbox_backlog",
    help: "Outbox rows committed but not yet published to Kafka.",
    registers: [registry],
    async collect() {
      this.set((await read())?.n ?? Number.NaN);
    },
  });
  new Gauge({
    name: "invoicer_outbox_oldest_age_seconds",
    help: "Age of the oldest unpublished outbox row; 0 when everything is published.",
    registers: [registry],
    async collect() {
      this.set((await read())?.age ?? Number.NaN);
    },
  });
}
