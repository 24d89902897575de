// Structured logs, one JSON object a line.
import { pino } from "pino";

export type Logger = pino.Logger;

/** Lines go to stdout (fd 1) unless `fd` says otherwise. */
export function createLogger(level: string, fd = 1): Logger {
  return pino({ name: "bff", level }, pino.destination({ fd, sync: true }));
}
