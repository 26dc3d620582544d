// Hand-written SQL for the hot paths: drizzle's builder costs CPU per call and sends each
// statement unnamed (parse, describe, then bind: two round trips); a prepared statement is one.
import { getTableColumns, getTableName, type Table } from "drizzle-orm";
import type { Sql } from "postgres";
import type { Db } from "./client.ts";

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

export type SqlNames<T extends Table> = { readonly [K in keyof T["_"]["columns"]]: string } & { readonly $table: string };

/** A table's quoted SQL name (`$table`) and each column's under its key, from schema.ts: the one place names are spelled. */
export function sqlNames<T extends Table>(table: T): SqlNames<T> {
  const names: Record<string, string> = { $table: quote(getTableName(table)) };
  for (const [key, column] of Object.entries(getTableColumns(table))) names[key] = quote(column.name);
  return names as SqlNames<T>;
}

/** The postgres.js pool drizzle runs on (drizzle() sets `$client`; the `Db` type does not name it). */
export function postgresClientOf(db: Db): Sql {
  const client = (db as Db & { $client?: Sql }).$client;
  if (!client) throw new Error("the drizzle database has no postgres.js client");
  return client;
}
