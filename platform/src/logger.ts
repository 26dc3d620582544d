import { pino, type DestinationStream, type Logger } from "pino";
import { logContext } from "./telemetry.ts";

export type { Logger };

/** JSON logs on stdout, one object a line, tagged with the service name and the active trace and request. */
export function createLogger(service: string, level: string, destination?: DestinationStream): Logger {
  const options = { name: service, level, base: { service }, mixin: logContext };
  return destination ? pino(options, destination) : pino(options);
}
