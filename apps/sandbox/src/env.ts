// The service's configuration, read from the environment once and checked as a whole, so a
// misconfigured host fails at start with every bad variable listed.
import path from "node:path";
import { EnvReader } from "@prewarm/service-kit/env";

export interface SandboxEnv {
  /** Everything the service reads, writes or deletes lives under this directory. */
  root: string;
  host: string;
  port: number;
  /** How long a stopped build's processes get between SIGTERM and SIGKILL. */
  stopGraceMs: number;
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
}

export function parseEnv(source: NodeJS.ProcessEnv = process.env): SandboxEnv {
  const env = new EnvReader(source);
  return env.done("sandbox", {
    root: path.resolve(env.string("SANDBOX_ROOT", "data/sandbox")),
    host: env.string("SANDBOX_HOST", "127.0.0.1"),
    port: env.int("SANDBOX_PORT", 7071, 0, 65535),
    stopGraceMs: env.int("SANDBOX_STOP_GRACE_MS", 10_000, 0, 600_000),
    logLevel: env.oneOf("LOG_LEVEL", "info", ["debug", "info", "warn", "error", "silent"] as const),
  });
}
