// The BFF's configuration, read from the environment once and checked as a whole, so a
// misconfigured deployment fails at start with every bad variable listed.
import path from "node:path";
import { EnvReader, type MetricsAccess, readMetricsAccess } from "@prewarm/service-kit/env";
import { scryptN } from "./auth/credentials.ts";
import { isValidUserName, userNameRule } from "./auth/user-name.ts";
import { defaultRunUserRanges, type RunUserRanges } from "./store/run-users.ts";
import { hostLabelPattern, hostLabelRule } from "./store/sandbox-hosts.ts";

export interface BffEnv {
  host: string;
  port: number;
  /** A PostgreSQL server; when unset, PGlite keeps the data in `dataDir`. */
  databaseUrl: string | null;
  dataDir: string;
  /** SANDBOX_URL's host, the fleet of one; null (SANDBOX_URL empty) when the hosts are all registered ones. */
  sandboxUrl: string | null;
  /** SANDBOX_LABEL: what the page and operators call SANDBOX_URL's host. */
  sandboxLabel: string;
  /** The built web app to serve; null serves only the API. */
  webDist: string | null;
  buildTimeoutSeconds: number;
  /** RUN_UID_FIRST / RUN_SUBUID_FIRST: where projects' users on the sandbox hosts are numbered from. */
  runUsers: RunUserRanges;
  reconcileIntervalMs: number;
  /** How long a claimed build may wait for its first dispatch before the reconcile sends it. */
  dispatchGraceMs: number;
  seedDemo: boolean;
  /** How long each slow step of the demo's cold build takes (DEMO_STEP_SECONDS). */
  demoStepSeconds: number;
  /** Where people reach the app, e.g. https://prewarm.example.com; login links point there. */
  publicUrl: string;
  /** More origins the app's pages may be served from (a dev server), comma-separated. */
  allowedOrigins: string[];
  /** The sandbox's SANDBOX_TOKEN, when it requires one. */
  sandboxToken: string | null;
  /** WEBHOOK_SECRET_KEY: base64 of 32 bytes sealing webhook secrets; else a key file in dataDir. */
  webhookSecretKey: string | null;
  /** The name of the owner account made on first start. */
  ownerName: string;
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
  /** METRICS_PORT / METRICS_HOST / METRICS_TOKEN: where Prometheus reads the metrics, if anywhere. */
  metrics: MetricsAccess;
  /** How long a shutdown waits for requests in flight before it cuts them (SHUTDOWN_TIMEOUT_MS). */
  shutdownTimeoutMs: number;
}

export function parseEnv(source: NodeJS.ProcessEnv = process.env): BffEnv {
  const env = new EnvReader(source);
  let databaseUrl = env.optional("DATABASE_URL");
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    databaseUrl = env.problem("DATABASE_URL must be a postgres:// or postgresql:// URL", null);
  }
  const host = env.string("HOST", "127.0.0.1");
  const port = env.int("PORT", 7070, 0, 65535);
  const shownHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  const allowedOrigins = (env.optional("ALLOWED_ORIGINS") ?? "")
    .split(",")
    .map((origin) => origin.trim())
    .filter(Boolean);
  for (const origin of allowedOrigins) {
    if (!URL.canParse(origin)) env.problem(`ALLOWED_ORIGINS must list URLs, got "${origin}"`, null);
  }
  const webhookSecretKey = env.optional("WEBHOOK_SECRET_KEY");
  if (webhookSecretKey !== null && Buffer.from(webhookSecretKey, "base64").length !== 32) {
    env.problem("WEBHOOK_SECRET_KEY must be 32 bytes in base64 (openssl rand -base64 32)", null);
  }
  try {
    scryptN(source.PASSWORD_SCRYPT_N);
  } catch (error) {
    env.problem((error as Error).message, null);
  }
  const sandboxLabel = env.string("SANDBOX_LABEL", "default");
  if (!hostLabelPattern.test(sandboxLabel)) env.problem(`SANDBOX_LABEL must be ${hostLabelRule}`, null);
  const ownerName = env.string("OWNER_NAME", "owner");
  if (!isValidUserName(ownerName)) env.problem(`OWNER_NAME must be ${userNameRule}`, null);
  return env.done("BFF", {
    host,
    port,
    databaseUrl,
    dataDir: path.resolve(env.string("DATA_DIR", "data")),
    sandboxUrl: source.SANDBOX_URL === "" ? null : env.url("SANDBOX_URL", "http://127.0.0.1:7071"),
    sandboxLabel,
    webDist: source.WEB_DIST === "" ? null : path.resolve(env.string("WEB_DIST", "apps/web/dist")),
    buildTimeoutSeconds: env.int("BUILD_TIMEOUT_SECONDS", 1800, 1, 86_400),
    runUsers: {
      firstUid: env.int("RUN_UID_FIRST", defaultRunUserRanges.firstUid, 1000, 2_000_000_000),
      // Room for 60,000 projects of 65,536 subordinate IDs each below 2^32.
      firstSubuid: env.int("RUN_SUBUID_FIRST", defaultRunUserRanges.firstSubuid, 100_000, 300_000_000),
    },
    reconcileIntervalMs: env.int("RECONCILE_INTERVAL_MS", 5000, 50, 600_000),
    dispatchGraceMs: env.int("DISPATCH_GRACE_MS", 10_000, 0, 600_000),
    seedDemo: env.bool("SEED_DEMO", false),
    demoStepSeconds: env.int("DEMO_STEP_SECONDS", 10, 0, 600),
    publicUrl: env.url("PUBLIC_URL", `http://${shownHost}:${port}`).replace(/\/$/, ""),
    allowedOrigins,
    sandboxToken: env.optional("SANDBOX_TOKEN"),
    webhookSecretKey,
    ownerName,
    logLevel: env.oneOf("LOG_LEVEL", "info", ["debug", "info", "warn", "error", "silent"] as const),
    metrics: readMetricsAccess(env, ""),
    shutdownTimeoutMs: env.int("SHUTDOWN_TIMEOUT_MS", 10_000, 0, 3_600_000),
  });
}
