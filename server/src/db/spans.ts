import { inSpan, SpanKind, type Tracer } from "@invoicer/platform/telemetry";

/** A client span around one database operation, named `<OPERATION> <table>` as OpenTelemetry's conventions ask. */
export function dbSpan<T>(tracer: Tracer, operation: "SELECT" | "INSERT" | "UPDATE", table: string, work: () => Promise<T>): Promise<T> {
  const attributes = { "db.system.name": "postgresql", "db.operation.name": operation, "db.collection.name": table };
  return inSpan(tracer, `${operation} ${table}`, { kind: SpanKind.CLIENT, attributes }, () => work());
}
