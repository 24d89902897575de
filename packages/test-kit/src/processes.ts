// The services as real processes, for tests that must kill them: started from source with
// `node --import tsx` (so the process we kill is the service itself, not a wrapper), waited for
// until they answer, killed with SIGKILL.
import { type ChildProcess, spawn } from "node:child_process";
import { get as httpsGet } from "node:https";
import { createServer } from "node:net";
import path from "node:path";

const repoRoot = path.resolve(import.meta.dirname, "../../..");

export const entries = {
  sandbox: path.join(repoRoot, "apps/sandbox/src/index.ts"),
  bff: path.join(repoRoot, "apps/bff/src/index.ts"),
  admin: path.join(repoRoot, "apps/bff/src/admin.ts"),
} as const;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/** Node.js strips TypeScript's types by itself here (22.18 and later): `node file.ts` runs. */
export const nodeStripsTypes = Boolean((process.features as { typescript?: string | false }).typescript);

/**
 * Starts a service and resolves once `healthUrl` answers 200: through tsx, or with `plainNode`
 * by Node.js alone (where it strips types).
 */
export async function startService(
  entry: string,
  env: Record<string, string>,
  healthUrl: string,
  options: {
    timeoutMs?: number;
    stdio?: "ignore" | "inherit";
    stdout?: "ignore" | "pipe";
    plainNode?: boolean;
    /** The CA (PEM) of an HTTPS service's certificate. */
    ca?: string;
  } = {},
): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...(options.plainNode ? [] : ["--import", "tsx"]), entry], {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: "error", ...env },
    stdio: ["ignore", options.stdout ?? "ignore", options.stdio ?? "inherit"],
  });
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${entry} exited with ${child.exitCode} while starting`);
    const up = await answers(healthUrl, options.ca);
    if (up) return child;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${entry} did not answer ${healthUrl}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Whether `url` answers 200, over HTTPS trusting `ca` where given. */
function answers(url: string, ca?: string): Promise<boolean> {
  if (!ca) {
    return fetch(url).then(
      (res) => res.ok,
      () => false,
    );
  }
  return new Promise((resolve) => {
    httpsGet(url, { ca }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    }).on("error", () => resolve(false));
  });
}

export async function kill9(child: ChildProcess | null | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

/**
 * Stops a service as an operator does (SIGTERM), so it cleans up after itself; SIGKILL after
 * `timeoutMs` if it has not exited by then.
 */
export async function stopGracefully(child: ChildProcess | null | undefined, timeoutMs = 30_000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  await exited;
  clearTimeout(timer);
}

/** mulberry32: a small seeded PRNG, so a failing random run can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs a command-line entry to its end, with `input` on its standard input. */
export function runCommand(
  entry: string,
  args: string[],
  env: Record<string, string>,
  input = "",
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", entry, ...args], {
      cwd: repoRoot,
      env: { ...process.env, LOG_LEVEL: "error", ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}
