// Reads a service's environment once, collecting every problem, so a misconfigured service
// stops at start with all of its bad variables listed rather than the first one.
export class EnvReader {
  private readonly source: NodeJS.ProcessEnv;
  private readonly problems: string[] = [];

  constructor(source: NodeJS.ProcessEnv = process.env) {
    this.source = source;
  }

  string(name: string, fallback: string): string {
    const raw = this.source[name];
    return raw === undefined || raw === "" ? fallback : raw;
  }

  optional(name: string): string | null {
    const raw = this.source[name];
    return raw === undefined || raw === "" ? null : raw;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.source[name];
    if (raw === undefined || raw === "") return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      return this.problem(`${name} must be an integer from ${min} to ${max}, got "${raw}"`, fallback);
    }
    return value;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.source[name];
    if (raw === undefined || raw === "") return fallback;
    if (raw === "true" || raw === "1") return true;
    if (raw === "false" || raw === "0") return false;
    return this.problem(`${name} must be true or false, got "${raw}"`, fallback);
  }

  url(name: string, fallback: string): string {
    const raw = this.string(name, fallback);
    try {
      return new URL(raw).toString().replace(/\/$/, "");
    } catch {
      return this.problem(`${name} must be a URL, got "${raw}"`, fallback);
    }
  }

  oneOf<T extends string>(name: string, fallback: T, values: readonly T[]): T {
    const raw = this.string(name, fallback);
    if ((values as readonly string[]).includes(raw)) return raw as T;
    return this.problem(`${name} must be one of ${values.join(", ")}, got "${raw}"`, fallback);
  }

  /** Records a problem found by the caller's own checks. */
  problem<T>(message: string, fallback: T): T {
    this.problems.push(message);
    return fallback;
  }

  /** Throws with every problem found, or returns `value`. */
  done<T>(what: string, value: T): T {
    if (this.problems.length > 0) throw new Error(`Invalid ${what} configuration:\n  ${this.problems.join("\n  ")}`);
    return value;
  }
}

export interface MetricsAccess {
  /** Serve /metrics on the main listener to this bearer token; null: not on the main listener. */
  token: string | null;
  /** A listener of their own, serving /metrics and nothing else; null: none. */
  port: number | null;
  host: string;
}

/**
 * Where the metrics are served: `<prefix>METRICS_PORT` opens a listener of their own on
 * `<prefix>METRICS_HOST` (loopback by default), `<prefix>METRICS_TOKEN` serves them on the main
 * listener to that bearer token. Neither: no metrics over HTTP.
 */
export function readMetricsAccess(env: EnvReader, prefix: "" | "SANDBOX_"): MetricsAccess {
  const token = env.optional(`${prefix}METRICS_TOKEN`);
  if (token !== null && !/^[\x21-\x7e]{32,}$/.test(token)) {
    env.problem(`${prefix}METRICS_TOKEN must be at least 32 characters, printable ASCII without spaces`, null);
  }
  const port = env.optional(`${prefix}METRICS_PORT`) === null ? null : env.int(`${prefix}METRICS_PORT`, 0, 1, 65535);
  return { token, port, host: env.string(`${prefix}METRICS_HOST`, "127.0.0.1") };
}
