// The service's configuration, read from the environment once and checked as a whole, so a
// misconfigured host fails at start with every bad variable listed.
import path from "node:path";

export interface SandboxEnv {
  /** Everything the service reads, writes or deletes lives under this directory. */
  root: string;
  host: string;
  port: number;
  /** How long a stopped build's processes get between SIGTERM and SIGKILL. */
  stopGraceMs: number;
  logLevel: "debug" | "info" | "warn" | "error";
}

export function parseEnv(source: NodeJS.ProcessEnv = process.env): SandboxEnv {
  const problems: string[] = [];
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = source[name];
    if (raw === undefined || raw === "") return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  };
  const logLevel = (source.LOG_LEVEL ?? "info") as SandboxEnv["logLevel"];
  if (!["debug", "info", "warn", "error"].includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of debug, info, warn, error, got "${source.LOG_LEVEL}"`);
  }
  const env: SandboxEnv = {
    root: path.resolve(source.SANDBOX_ROOT || "data/sandbox"),
    host: source.SANDBOX_HOST || "127.0.0.1",
    port: int("SANDBOX_PORT", 7071, 0, 65535),
    stopGraceMs: int("SANDBOX_STOP_GRACE_MS", 10_000, 0, 600_000),
    logLevel,
  };
  if (problems.length > 0) {
    throw new Error(`Invalid sandbox configuration:\n  ${problems.join("\n  ")}`);
  }
  return env;
}
