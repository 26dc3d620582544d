/** A configuration value that is missing or malformed; main prints its message as one line and exits. */
export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

/** Reads typed values from an environment, naming the variable in every error. */
export function envReader(env: Env) {
  const raw = (name: string) => {
    const value = env[name];
    return value === undefined || value === "" ? undefined : value;
  };
  const int = (name: string, fallback: number | undefined, min: number, max: number): number => {
    const value = raw(name);
    if (value === undefined) {
      if (fallback === undefined) throw new ConfigError(`${name} is required`);
      return fallback;
    }
    const n = Number(value);
    if (!/^-?\d+$/.test(value) || n < min || n > max) {
      throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${value}"`);
    }
    return n;
  };
  return {
    string(name: string, fallback?: string): string {
      const value = raw(name) ?? fallback;
      if (value === undefined) throw new ConfigError(`${name} is required`);
      return value;
    },
    optional(name: string): string | undefined {
      return raw(name);
    },
    int,
    port: (name: string, fallback?: number) => int(name, fallback, 0, 65535),
    secret(name: string): string {
      const value = raw(name);
      if (value === undefined || value.length < 16) {
        throw new ConfigError(`${name} is required and must be at least 16 characters`);
      }
      return value;
    },
    url(name: string, fallback?: string): string {
      const value = raw(name) ?? fallback;
      if (value === undefined) throw new ConfigError(`${name} is required`);
      try {
        new URL(value);
      } catch {
        throw new ConfigError(`${name} must be a URL, got "${value}"`);
      }
      return value;
    },
    /** One or more http:// URLs, comma-separated (the server's: each host may resolve to several addresses). */
    urls: (name: string, fallback: string): string[] => httpUrls(name, raw(name) ?? fallback),
    /** A comma-separated list of host:port Kafka bootstrap addresses. */
    brokers: (name: string): string[] => brokerAddresses(name, raw(name)),
    /** A pino level: trace, debug, info, warn, error, fatal or silent. */
    logLevel(name = "LOG_LEVEL"): string {
      const value = raw(name) ?? "info";
      if (!logLevels.includes(value)) throw new ConfigError(`${name} must be one of ${logLevels.join(", ")}; got "${value}"`);
      return value;
    },
    list(name: string, fallback: string[] = []): string[] {
      const value = raw(name);
      return value === undefined ? fallback : commaSeparated(value);
    },
  };
}

const logLevels = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

/** The non-empty items of a comma-separated list, trimmed. */
const commaSeparated = (value: string): string[] =>
  value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

function httpUrls(name: string, value: string): string[] {
  const urls = commaSeparated(value);
  const bad = urls.find((u) => !URL.canParse(u) || new URL(u).protocol !== "http:");
  if (urls.length === 0 || bad !== undefined)
    throw new ConfigError(`${name} must be http://host:port[,http://host:port...], got "${value}"`);
  return urls;
}

function brokerAddresses(name: string, value: string | undefined): string[] {
  if (value === undefined) throw new ConfigError(`${name} is required (comma-separated host:port list)`);
  const brokers = commaSeparated(value);
  const bad = brokers.find((b) => !/^[^\s:/]+:\d{1,5}$/.test(b));
  if (brokers.length === 0 || bad !== undefined) throw new ConfigError(`${name} must be host:port[,host:port...], got "${value}"`);
  return brokers;
}

/** Runs a service's main, turning a ConfigError into one line on stderr and exit code 2. */
export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
