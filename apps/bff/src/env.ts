// The BFF's configuration, read from the environment once and checked as a whole, so a
// misconfigured deployment fails at start with every bad variable listed.
import path from "node:path";

export interface BffEnv {
  host: string;
  port: number;
  /** A PostgreSQL server; when unset, PGlite keeps the data in `dataDir`. */
  databaseUrl: string | null;
  dataDir: string;
  sandboxUrl: string;
  /** The built web app to serve; null serves only the API. */
  webDist: string | null;
  buildTimeoutSeconds: number;
  reconcileIntervalMs: number;
  seedDemo: boolean;
  logLevel: string;
}

export function parseEnv(source: NodeJS.ProcessEnv = process.env): BffEnv {
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
  const url = (name: string, fallback: string): string => {
    const raw = source[name] || fallback;
    try {
      return new URL(raw).toString().replace(/\/$/, "");
    } catch {
      problems.push(`${name} must be a URL, got "${raw}"`);
      return fallback;
    }
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = source[name];
    if (raw === undefined || raw === "") return fallback;
    if (raw === "true" || raw === "1") return true;
    if (raw === "false" || raw === "0") return false;
    problems.push(`${name} must be true or false, got "${raw}"`);
    return fallback;
  };
  const databaseUrl = source.DATABASE_URL || null;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push("DATABASE_URL must be a postgres:// or postgresql:// URL");
  }
  const logLevel = source.LOG_LEVEL || "info";
  if (!["debug", "info", "warn", "error", "silent"].includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of debug, info, warn, error, silent, got "${logLevel}"`);
  }
  const env: BffEnv = {
    host: source.HOST || "127.0.0.1",
    port: int("PORT", 7070, 0, 65535),
    databaseUrl,
    dataDir: path.resolve(source.DATA_DIR || "data"),
    sandboxUrl: url("SANDBOX_URL", "http://127.0.0.1:7071"),
    webDist: source.WEB_DIST === "" ? null : path.resolve(source.WEB_DIST || "apps/web/dist"),
    buildTimeoutSeconds: int("BUILD_TIMEOUT_SECONDS", 1800, 1, 86_400),
    reconcileIntervalMs: int("RECONCILE_INTERVAL_MS", 5000, 50, 600_000),
    seedDemo: bool("SEED_DEMO", false),
    logLevel,
  };
  if (problems.length > 0) throw new Error(`Invalid BFF configuration:\n  ${problems.join("\n  ")}`);
  return env;
}
