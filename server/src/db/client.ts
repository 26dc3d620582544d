import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import * as schema from "./schema.ts";

export type Db = PostgresJsDatabase<typeof schema>;
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];

export interface Database {
  db: Db;
  sql: postgres.Sql;
  close(): Promise<void>;
}

/**
 * How long a transaction may sit idle, and how long one that takes a tenant's invoice counter may last
 * at all: a stalled server's transactions, waiting in that counter's lock queue, would each take the
 * lock in turn and sit idle again, chaining the stall (the three-servers fault scenario: 2 x 5 s).
 */
export const STALLED_TRANSACTION_MS = 5_000;

/** Opens the connection pool the server runs on. */
export function openDatabase(url: string, poolSize: number): Database {
  const sql = postgres(url, {
    max: poolSize,
    onnotice: () => {},
    // A stuck statement must not hold a pool connection for ever; a server stopped inside a transaction
    // (SIGSTOP, a hung loop) must not hold its rows' locks, a tenant's invoice counter above all, for ever.
    connection: {
      statement_timeout: 30_000,
      idle_in_transaction_session_timeout: STALLED_TRANSACTION_MS,
      application_name: "invoicer-server",
    },
  });
  return { db: drizzleOn(sql), sql, close: () => sql.end({ timeout: 5 }) };
}

// One drizzle database per pool, so code handed only the pool (the relay, the watch) shares openDatabase's.
const databases = new WeakMap<postgres.Sql, Db>();

/** The drizzle database on a postgres.js pool: openDatabase's own, or one made now for a pool opened elsewhere (the outbox CLI's). */
export function drizzleOn(sql: postgres.Sql): Db {
  let db = databases.get(sql);
  if (!db) databases.set(sql, (db = drizzle({ client: sql, schema })));
  return db;
}
