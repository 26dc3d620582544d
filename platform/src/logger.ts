import { pino, type Logger } from "pino";

export type { Logger };

/** JSON logs on stdout, one object a line, tagged with the service name. */
export function createLogger(service: string, level: string): Logger {
  return pino({ name: service, level, base: { service } });
}
