// Conditions drizzle queries share: the states of outbox and invoice rows that several statements (and
// the partial indexes in schema.ts) select by, and the shapes drizzle has no helper for.
import { and, isNotNull, isNull, sql, type Column, type SQL } from "drizzle-orm";
import { invoices, outbox } from "./schema.ts";

/** Outbox rows in line for the relay: neither published nor parked. */
export const awaitingRelay: SQL = and(isNull(outbox.publishedAt), isNull(outbox.parkedAt))!;

/** Outbox rows the broker refused for good, set aside until retried (outbox_parked_idx). */
export const parkedRows: SQL = and(isNotNull(outbox.parkedAt), isNull(outbox.publishedAt))!;

/**
 * Invoices whose documents are not attached yet. The status is a literal, not a parameter, so the
 * planner matches invoices_pending_documents_idx, whose predicate is this one.
 */
export const awaitingDocuments: SQL = sql`${invoices.documentStatus} = 'PENDING'`;

/** `now()` less a number of milliseconds, for comparing a timestamp column with. */
export const msAgo = (ms: number): SQL => sql`now() - make_interval(secs => ${ms / 1000})`;

/**
 * `column = any($n::type[])`: the values as one array parameter, so the statement is the same text
 * however many there are (drizzle's inArray writes one parameter per value).
 */
export const anyOf = (column: Column, values: readonly unknown[]): SQL =>
  sql`${column} = any(${sql.param(values)}::${sql.raw(column.getSQLType())}[])`;
