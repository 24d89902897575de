// The BFF's configuration, read from the environment once and checked as a whole, so a
// misconfigured deployment fails at start with every bad variable listed.
import path from "node:path";
import { EnvReader } from "@prewarm/service-kit/env";

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
  /** How long a claimed build may wait for its first dispatch before the reconcile sends it. */
  dispatchGraceMs: number;
  seedDemo: boolean;
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
}

export function parseEnv(source: NodeJS.ProcessEnv = process.env): BffEnv {
  const env = new EnvReader(source);
  let databaseUrl = env.optional("DATABASE_URL");
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    databaseUrl = env.problem("DATABASE_URL must be a postgres:// or postgresql:// URL", null);
  }
  return env.done("BFF", {
    host: env.string("HOST", "127.0.0.1"),
    port: env.int("PORT", 7070, 0, 65535),
    databaseUrl,
    dataDir: path.resolve(env.string("DATA_DIR", "data")),
    sandboxUrl: env.url("SANDBOX_URL", "http://127.0.0.1:7071"),
    webDist: source.WEB_DIST === "" ? null : path.resolve(env.string("WEB_DIST", "apps/web/dist")),
    buildTimeoutSeconds: env.int("BUILD_TIMEOUT_SECONDS", 1800, 1, 86_400),
    reconcileIntervalMs: env.int("RECONCILE_INTERVAL_MS", 5000, 50, 600_000),
    dispatchGraceMs: env.int("DISPATCH_GRACE_MS", 10_000, 0, 600_000),
    seedDemo: env.bool("SEED_DEMO", false),
    logLevel: env.oneOf("LOG_LEVEL", "info", ["debug", "info", "warn", "error", "silent"] as const),
  });
}
