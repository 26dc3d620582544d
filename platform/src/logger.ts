import { pino, type DestinationStream, type Logger } from "pino";
import { logContext } from "./telemetry.ts";

export type { Logger };

/** Error fields that may hold customer data: statement parameters (postgres.js, drizzle) and PostgreSQL's detail lines. */
const dataFields = new Set(["parameters", "params", "args", "detail", "where"]);

/** drizzle puts a failed statement's parameters in the error message itself, after "params:". */
const withoutParams = (text: string) => text.replace(/\nparams: [\s\S]*?(?=\n {4}at |$)/, "\nparams: (not logged)");

/**
 * pino's error serializer, minus anything that can carry customer data: parameters and details
 * are dropped, at every level of the cause chain, and never reach a log line.
 */
export function safeError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const serialized = pino.stdSerializers.err(err) as unknown as Record<string, unknown>;
  return scrub(serialized, 0);
}

function scrub(value: Record<string, unknown>, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (dataFields.has(key)) continue;
    if (typeof field === "string" && (key === "message" || key === "stack")) out[key] = withoutParams(field);
    else if (key === "cause" && field && typeof field === "object" && depth < 5)
      out[key] = scrub(field as Record<string, unknown>, depth + 1);
    else out[key] = field;
  }
  return out;
}

/** JSON logs on stdout, one object a line, tagged with the service name and the active trace and request. */
export function createLogger(service: string, level: string, destination?: DestinationStream): Logger {
  const options = { name: service, level, base: { service }, mixin: logContext, serializers: { err: safeError } };
  return destination ? pino(options, destination) : pino(options);
}
