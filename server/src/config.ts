import { envReader } from "@invoicer/platform/config";

export interface ServerConfig {
  host: string;
  port: number;
  databaseUrl: string;
  databasePoolSize: number;
  internalToken: string;
  maxMessageBytes: number;
  shutdownGraceMs: number;
}

/** Every variable the server reads; the README's configuration table lists the same. */
export function loadServerConfig(env: Record<string, string | undefined>): ServerConfig {
  const e = envReader(env);
  return {
    host: e.string("SERVER_HOST", "127.0.0.1"),
    port: e.port("SERVER_PORT", 8081),
    databaseUrl: e.url("DATABASE_URL"),
    databasePoolSize: e.int("DATABASE_POOL_SIZE", 20, 1, 500),
    internalToken: e.secret("INTERNAL_TOKEN"),
    maxMessageBytes: e.int("MAX_MESSAGE_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024),
    shutdownGraceMs: e.int("SHUTDOWN_GRACE_MS", 10_000, 0, 600_000),
  };
}
