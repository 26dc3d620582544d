// Hand-written SQL, for the hot paths and for what drizzle cannot say: drizzle's builder costs CPU per
// call and sends each statement unnamed (parse, describe, then bind: two round trips), where a prepared
// statement is one; and it has no row lock inside a CTE (the relay's claim, FOR UPDATE ... SKIP LOCKED).
// Every other statement is a drizzle query. Names come from schema.ts through sqlNames, never spelled here.
import { getTableColumns, getTableName, type Column, type Table } from "drizzle-orm";
import type { ParameterOrJSON, Sql, TransactionSql } from "postgres";
import type { Db, Tx } from "./client.ts";

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

export type SqlNames<T extends Table> = { readonly [K in keyof T["_"]["columns"]]: string } & { readonly $table: string };

/**
 * A table's quoted SQL name (`$table`) and each column's under its key, from schema.ts, for the
 * statements written by hand: a rename in schema.ts reaches them as it reaches drizzle's queries.
 */
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

/** The postgres.js transaction a drizzle transaction runs on (its session's client), for prepared statements inside it. */
export function postgresTransactionOf(tx: Tx): TransactionSql {
  const client = (tx as Tx & { session?: { client?: TransactionSql } }).session?.client;
  if (!client) throw new Error("the drizzle transaction has no postgres.js client");
  return client;
}

type Columns<T extends Table> = T["_"]["columns"];
type ColumnKey<T extends Table> = keyof Columns<T> & string;
/** What a column reads back as (its TypeScript type in schema.ts). */
export type ColumnData<C extends Column> = C["_"]["notNull"] extends true ? C["_"]["data"] : C["_"]["data"] | null;

/** Every column key of `table` but `except`, in schema.ts order. */
export function columnsExcept<T extends Table, E extends ColumnKey<T>>(table: T, except: readonly E[]): Exclude<ColumnKey<T>, E>[] {
  return Object.keys(getTableColumns(table)).filter((k) => !(except as readonly string[]).includes(k)) as Exclude<ColumnKey<T>, E>[];
}

/** A value as a statement parameter: the column's own mapping (jsonb as JSON, bytea as Buffer), int8 as decimal text. */
function toParam(column: Column, value: unknown): Param {
  if (value === null || value === undefined) return null;
  const mapped = column.mapToDriverValue(value);
  return (typeof mapped === "bigint" ? mapped.toString() : mapped) as Param;
}

/** A value as its column reads it back (postgres.js hands drizzle some types as text). */
export function fromDriver<C extends Column>(column: C, value: unknown): ColumnData<C> {
  return column.mapFromDriverValue(value) as ColumnData<C>;
}

/** A row as postgres.js reads it (column names) as drizzle's select would give it: keys and types from schema.ts. */
export function rowReader<T extends Table>(table: T): (raw: Record<string, unknown>) => T["$inferSelect"] {
  const columns = Object.entries(getTableColumns(table)) as [string, Column][];
  return (raw) => {
    const row: Record<string, unknown> = {};
    for (const [key, column] of columns) row[key] = raw[column.name] === null ? null : column.mapFromDriverValue(raw[column.name]);
    return row as T["$inferSelect"];
  };
}

/** `$n` cast to the column's SQL type, for a parameter compared with or written to that column. */
export const paramOf = (n: number, column: Column) => `$${n}::${column.getSQLType()}`;

export interface InsertParams<Row> {
  /** The quoted column list, in parameter order. */
  columns: string;
  /** `$n::type` placeholders of one row, or (`many`) of one array per column, for `unnest(...)`. */
  placeholders: string;
  /** The first parameter number after these. */
  next: number;
  /** This insert's parameters, in placeholder order. */
  params(row: Row): Param[];
}

/** The values of `keys` in a row of `table`, each required (a column left out is not inserted, not set to null). */
export type RowOf<T extends Table, K extends ColumnKey<T>> = { [P in K]: P extends keyof T["$inferInsert"] ? T["$inferInsert"][P] : never };
/** A statement parameter postgres.js takes. */
export type Param = ParameterOrJSON<never>;

/**
 * The typed parameters of inserting one row of `table` into `keys`, numbered from `$first`: each
 * column named once (here), its SQL type and its conversion taken from schema.ts.
 */
export function insertRow<T extends Table, K extends ColumnKey<T>>(table: T, keys: readonly K[], first: number): InsertParams<RowOf<T, K>> {
  const columns = keys.map((k) => getTableColumns(table)[k]! as Column);
  return {
    columns: columns.map((c) => quote(c.name)).join(", "),
    placeholders: columns.map((c, i) => `$${first + i}::${c.getSQLType()}`).join(", "),
    next: first + columns.length,
    params: (row) => keys.map((k, i) => toParam(columns[i]!, row[k])),
  };
}

/** As insertRow, for many rows at once: one array parameter per column, to `select * from unnest(placeholders)`. */
export function insertRows<T extends Table, K extends ColumnKey<T>>(
  table: T,
  keys: readonly K[],
  first: number,
): InsertParams<RowOf<T, K>[]> {
  const columns = keys.map((k) => getTableColumns(table)[k]! as Column);
  return {
    columns: columns.map((c) => quote(c.name)).join(", "),
    placeholders: columns.map((c, i) => `$${first + i}::${c.getSQLType()}[]`).join(", "),
    next: first + columns.length,
    params: (rows) => keys.map((k, i) => rows.map((row) => toParam(columns[i]!, row[k])) as Param),
  };
}
