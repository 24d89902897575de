// The service's configuration, read from the environment once and checked as a whole, so a
// misconfigured host fails at start with every bad variable listed.
import { readFileSync } from "node:fs";
import { BlockList, isIPv4, isIPv6 } from "node:net";
import path from "node:path";
import { EnvReader, type MetricsAccess, readMetricsAccess } from "@prewarm/service-kit/env";
import type { RunNetwork } from "./builds/run-jail.ts";
import { type DockerSetting, defaultDaemonArgs, type RootDaemons } from "./docker/docker-daemon.ts";

interface SandboxEnv {
  /** Everything the service reads, writes or deletes lives under this directory. */
  root: string;
  host: string;
  port: number;
  /** How long a stopped build's processes get between SIGTERM and SIGKILL. */
  stopGraceMs: number;
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
  /** The most all goldens on this host may use together; null for no limit. */
  goldenQuotaBytes: number | null;
  /** Ready copies kept per golden; "auto" keeps one where the root's filesystem has reflink. */
  spareCopies: number | "auto";
  /** The bearer token every request but the health check must carry; null asks for none. */
  token: string | null;
  /** SANDBOX_TLS_CERT and SANDBOX_TLS_KEY (PEM files): the service speaks HTTPS with them. */
  tls: { cert: string; key: string } | null;
  /** SANDBOX_PEER_CA (a PEM file): trusted, besides the system's CAs, in other hosts' certificates. */
  peerCa: string | null;
  /** Whether runs get a Docker daemon: wherever an engine is installed and may run, always, or never. */
  docker: DockerSetting;
  /** Flags of every run's dockerd besides its paths (networking, storage driver). */
  dockerdArgs: string[];
  /** Whether a host that cannot run rootless daemons may run root ones (never silently). */
  rootDaemons: RootDaemons;
  /** Whether runs reach out (slirp4netns, never the host's loopback) or have no network. */
  runNetwork: RunNetwork;
  /** RLIMIT_NPROC and RLIMIT_NOFILE of every run's processes. */
  runProcesses: number;
  runOpenFiles: number;
  /** The most disk one run may write; null for no limit (defaults to the golden quota). */
  runDiskLimitBytes: number | null;
  /** SANDBOX_METRICS_PORT / _HOST / _TOKEN: where Prometheus reads the metrics, if anywhere. */
  metrics: MetricsAccess;
  /** How long a shutdown waits for runs to stop and requests to finish (SANDBOX_SHUTDOWN_TIMEOUT_MS). */
  shutdownTimeoutMs: number;
}

export function parseEnv(source: NodeJS.ProcessEnv = process.env): SandboxEnv {
  const env = new EnvReader(source);
  const host = env.string("SANDBOX_HOST", "127.0.0.1");
  return env.done("sandbox", {
    root: path.resolve(env.string("SANDBOX_ROOT", "data/sandbox")),
    host,
    port: env.int("SANDBOX_PORT", 7071, 0, 65535),
    stopGraceMs: env.int("SANDBOX_STOP_GRACE_MS", 10_000, 0, 600_000),
    logLevel: env.oneOf("LOG_LEVEL", "info", ["debug", "info", "warn", "error", "silent"] as const),
    goldenQuotaBytes: quota(env, "SANDBOX_GOLDEN_QUOTA"),
    spareCopies:
      env.string("SANDBOX_SPARE_COPIES", "auto") === "auto" ? "auto" : env.int("SANDBOX_SPARE_COPIES", 0, 0, 8),
    token: token(env, host),
    tls: tls(env),
    peerCa: pemFile(env, "SANDBOX_PEER_CA"),
    docker: env.oneOf("SANDBOX_DOCKER", "auto", ["auto", "on", "off"] as const),
    dockerdArgs: env.string("SANDBOX_DOCKERD_ARGS", defaultDaemonArgs.join(" ")).split(/\s+/).filter(Boolean),
    rootDaemons: env.oneOf("SANDBOX_ROOT_DAEMONS", "refuse", ["refuse", "allow"] as const),
    runNetwork: env.oneOf("SANDBOX_RUN_NETWORK", "none", ["none", "outbound"] as const),
    // A rootless daemon alone uses about 40 threads, all counted against its user's processes.
    runProcesses: env.int("SANDBOX_RUN_PROCESSES", 4096, 256, 1_000_000),
    runOpenFiles: env.int("SANDBOX_RUN_OPEN_FILES", 16_384, 1024, 1_048_576),
    runDiskLimitBytes: quota(env, "SANDBOX_RUN_DISK_LIMIT") ?? quota(env, "SANDBOX_GOLDEN_QUOTA"),
    metrics: readMetricsAccess(env, "SANDBOX_"),
    shutdownTimeoutMs: env.int("SANDBOX_SHUTDOWN_TIMEOUT_MS", 60_000, 0, 3_600_000),
  });
}

/** SANDBOX_TLS_CERT and SANDBOX_TLS_KEY: both or neither. */
function tls(env: EnvReader): { cert: string; key: string } | null {
  const cert = pemFile(env, "SANDBOX_TLS_CERT");
  const key = pemFile(env, "SANDBOX_TLS_KEY");
  if ((cert === null) !== (key === null)) {
    return env.problem("SANDBOX_TLS_CERT and SANDBOX_TLS_KEY must be set together (HTTPS needs both)", null);
  }
  return cert !== null && key !== null ? { cert, key } : null;
}

/** The contents of the PEM file a variable names, or null when it names none. */
function pemFile(env: EnvReader, name: string): string | null {
  const file = env.optional(name);
  if (file === null) return null;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    return env.problem(`${name} names a file that cannot be read (${(error as Error).message})`, null);
  }
  if (!text.includes("-----BEGIN ")) return env.problem(`${name} must name a PEM file, and ${file} is not one`, null);
  return text;
}

/** SANDBOX_TOKEN: optional on a loopback address, required anywhere else. Never echoed. */
function token(env: EnvReader, host: string): string | null {
  const raw = env.optional("SANDBOX_TOKEN");
  if (raw === null) {
    if (isLoopback(host)) return null;
    return env.problem(
      `SANDBOX_TOKEN must be set when SANDBOX_HOST is not a loopback address (SANDBOX_HOST is "${host}"): ` +
        "anyone who can reach the port could otherwise run builds and delete goldens",
      null,
    );
  }
  if (!/^[\x21-\x7e]{32,}$/.test(raw)) {
    return env.problem(
      `SANDBOX_TOKEN must be at least 32 characters, printable ASCII without spaces (it has ${raw.length} characters)`,
      null,
    );
  }
  return raw;
}

const loopback = new BlockList();
loopback.addSubnet("127.0.0.0", 8, "ipv4");
loopback.addAddress("::1", "ipv6");

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and localhost: only this host can connect. */
function isLoopback(host: string): boolean {
  const address = host.replace(/^\[(.*)\]$/, "$1");
  if (address.toLowerCase() === "localhost") return true;
  if (isIPv4(address)) return loopback.check(address, "ipv4");
  if (isIPv6(address)) return loopback.check(address, "ipv6");
  return false;
}

const units: Record<string, number> = {
  "": 1,
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KIB: 1024,
  MIB: 1024 ** 2,
  GIB: 1024 ** 3,
  TIB: 1024 ** 4,
};

/** "20GB", "500 MiB", "1000000": a size in bytes; unset means no limit. */
function quota(env: EnvReader, name: string): number | null {
  const raw = env.optional(name);
  if (raw === null) return null;
  const match = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$/.exec(raw);
  const factor = match ? units[(match[2] ?? "").toUpperCase()] : undefined;
  if (!match || factor === undefined) {
    return env.problem(`${name} must be a size such as 20GB, 500MiB or a number of bytes, got "${raw}"`, null);
  }
  return Math.floor(Number(match[1]) * factor);
}
