import { Gauge, type Registry } from "@invoicer/platform/metrics";
import type { Sql } from "postgres";

/** The outbox's backlog and the age of its oldest unpublished row, read from PostgreSQL at each scrape. */
export function outboxMetrics(registry: Registry, sql: Sql): void {
  new Gauge({
    name: "invoicer_outbox_backlog",
    help: "Outbox rows committed but not yet published to Kafka.",
    registers: [registry],
    async collect() {
      const [row] = await sql<{ n: number }[]>`select count(*)::int as n from outbox where published_at is null`.catch(unknown);
      this.set(row?.n ?? Number.NaN);
    },
  });
  new Gauge({
    name: "invoicer_outbox_oldest_age_seconds",
    help: "Age of the oldest unpublished outbox row; 0 when everything is published.",
    registers: [registry],
    async collect() {
      const [row] = await sql<{ age: number }[]>`
        select coalesce(extract(epoch from now() - min(created_at)), 0)::float8 as age from outbox where published_at is null`.catch(unknown);
      this.set(row?.age ?? Number.NaN);
    },
  });
}

/** The database is unreachable: the scrape still answers, with NaN for what it cannot know. */
const unknown = () => [];
