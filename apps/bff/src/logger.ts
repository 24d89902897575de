// Structured logs, one JSON object a line.
import { pino } from "pino";

export type Logger = pino.Logger;

export function createLogger(level: string): Logger {
  return pino({ name: "bff", level });
}
