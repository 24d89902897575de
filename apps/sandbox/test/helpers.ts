// A real service over a real temporary root, driven through its HTTP app.
import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { components } from "@prewarm/api-types/sandbox";
import { createApp } from "../src/app.ts";
import type { RunPolicy } from "../src/builds/run-jail.ts";
import type { DockerEngine } from "../src/docker/docker-daemon.ts";
import { createLogger, type Logger } from "../src/logger.ts";
import { createServices, prepareRoot, type SandboxServices, stopRuns } from "../src/services.ts";
import { testRunUser } from "./support/run-users.ts";

export type Build = components["schemas"]["Build"];

// Response bodies in tests are checked by the assertions that read them.
// biome-ignore lint/suspicious/noExplicitAny: see above
export type TestResponse = Omit<Response, "json"> & { json(): Promise<any> };

export interface TestSandbox {
  root: string;
  services: SandboxServices;
  app: ReturnType<typeof createApp>;
  request: (method: string, url: string, body?: unknown) => Promise<TestResponse>;
  startBuild: (body: Record<string, unknown>) => Promise<Build>;
  waitForBuild: (buildId: string) => Promise<Build>;
  close: () => Promise<void>;
}

export async function createTestSandbox(
  options: {
    root?: string;
    stopGraceMs?: number;
    goldenQuotaBytes?: number;
    spareCopies?: number;
    /** The service's bearer token; `request` then sends it. */
    token?: string;
    /** SANDBOX_METRICS_TOKEN: /metrics answers to it. */
    metricsToken?: string;
    logger?: Logger;
    /** The engine whose daemon every run gets; none by default (tests of the filesystem alone). */
    docker?: DockerEngine | null;
    /** How runs are isolated and bounded, beyond the defaults. */
    runs?: Partial<RunPolicy>;
    /** A host with an engine that may run no daemon: runs are refused, saying this. */
    refusing?: string;
    /** A CA (PEM) trusted in the certificates of hosts goldens are fetched from. */
    peerCa?: string;
  } = {},
): Promise<TestSandbox> {
  const root = options.root ?? (await mkdtemp(path.join(tmpdir(), "sandbox-test-")));
  const services = createServices({
    root,
    logger: options.logger ?? createLogger("silent"),
    stopGraceMs: options.stopGraceMs ?? 2000,
    goldenQuotaBytes: options.goldenQuotaBytes ?? null,
    spareCopies: options.spareCopies ?? 0,
    docker: options.refusing
      ? { engine: null, reason: options.refusing, refuses: true }
      : options.docker
        ? { engine: options.docker, reason: null, refuses: false }
        : undefined,
    runs: { diskCheckMs: 200, ...options.runs },
    peerCa: options.peerCa ?? null,
  });
  await prepareRoot(services);
  const app = createApp(services, { token: options.token ?? null, metricsToken: options.metricsToken ?? null });
  const request = (method: string, url: string, body?: unknown): Promise<TestResponse> => {
    const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
    if (body !== undefined) headers["content-type"] = "application/json";
    const sent = method === "POST" ? withRunUser(url, body) : body;
    return Promise.resolve(
      app.request(url, {
        method,
        headers,
        ...(sent === undefined ? {} : { body: typeof sent === "string" ? sent : JSON.stringify(sent) }),
      }),
    );
  };
  const startBuild = async (body: Record<string, unknown>) => {
    const res = await request("POST", "/v1/builds", body);
    if (res.status !== 202) throw new Error(`start build answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as Build;
  };
  const waitForBuild = async (buildId: string) => {
    await services.builds.ended(buildId);
    return (await (await request("GET", `/v1/builds/${buildId}`)).json()) as Build;
  };
  return {
    root,
    services,
    app,
    request,
    startBuild,
    waitForBuild,
    close: async () => {
      // Stopping the runs also removes the daemons' directory in the host's /tmp.
      await stopRuns(services);
      await rm(root, { recursive: true, force: true });
    },
  };
}

/**
 * A run's start as the BFF sends it: with the project's user (tests name it only where it
 * matters); anything else, a deliberately bad body included, goes as it is.
 */
function withRunUser(url: string, body: unknown): unknown {
  const starts = url === "/v1/builds" || url === "/v1/test-sessions";
  if (!starts || typeof body !== "object" || body === null || Array.isArray(body)) return body;
  const fields = body as Record<string, unknown>;
  if ("run_user" in fields || typeof fields.project_id !== "string") return body;
  return { ...fields, run_user: testRunUser(fields.project_id) };
}

/** A real git repository whose `main` holds the given files. */
export async function createRepository(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "sandbox-repo-"));
  const git = (...args: string[]) =>
    execFileSync("git", args, {
      cwd: dir,
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: "t",
        GIT_AUTHOR_EMAIL: "t@t",
        GIT_COMMITTER_NAME: "t",
        GIT_COMMITTER_EMAIL: "t@t",
      },
    });
  git("init", "-q", "-b", "main");
  for (const [name, content] of Object.entries(files)) {
    await writeFile(path.join(dir, name), content);
  }
  git("add", "-A");
  git("commit", "-q", "-m", "main");
  git("checkout", "-q", "-b", "feature");
  await writeFile(path.join(dir, "FEATURE_ONLY"), "not on main");
  git("add", "-A");
  git("commit", "-q", "-m", "feature");
  git("checkout", "-q", "main");
  return dir;
}

/** Every path under `dir` with its type and content hash: equal manifests, equal trees. */
export async function manifest(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string) => {
    const entries = await readdir(path.join(dir, rel), { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const relPath = path.join(rel, entry.name);
      if (entry.isDirectory()) {
        out[relPath] = "dir";
        await walk(relPath);
      } else if (entry.isSymbolicLink()) {
        out[relPath] = "symlink";
      } else {
        const content = await readFile(path.join(dir, relPath));
        const { createHash } = await import("node:crypto");
        out[relPath] = createHash("sha256").update(content).digest("hex");
      }
    }
  };
  await walk("");
  return out;
}

export async function listDir(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).sort();
}
