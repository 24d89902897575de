// A sandbox service that is not root (`npm start` by a developer) runs every run's Docker daemon
// rootless, as its own user. What containers write then belongs to the user's subordinate IDs,
// and some of it is closed even to the user itself; still a build's golden is promoted whole, a
// session's copy equals it, another such service fetches it whole (a root one refuses: it numbers
// owners otherwise), the next build starts from it with every step CACHED, and deleting the cache
// removes all of it; what a container writes counts against the run's share of disk.
// The service says that projects are not isolated here.
import { type ChildProcess, execFileSync } from "node:child_process";
import { chmod, chown, mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort, kill9, startService } from "@prewarm/test-kit/processes";
import { treeManifest } from "@prewarm/test-kit/tree-manifest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureRunUser } from "../src/builds/run-user.ts";
import { DockerDaemons, findEngine } from "../src/docker/docker-daemon.ts";
import type { Build } from "./helpers.ts";
import { buildScript, dockerfile } from "./support/fidelity-build.ts";
import { testRunUser } from "./support/run-users.ts";
import { replicate, type ServedSandbox, servedSandbox, waitForReplication } from "./support/served-sandbox.ts";

const entry = path.join(import.meta.dirname, "support/unprivileged-sandbox.ts");
// The developer: a user of the tests' range, with a subordinate range as `usermod --add-subuids` gives.
const developer = testRunUser("unprivileged-service-developer");

let noEngine: string | null = null;
let work = "";
let root = "";
let base = "";
let service: ChildProcess | null = null;

beforeAll(async () => {
  const found = await findEngine("auto");
  if (!found.engine) {
    noEngine = found.reason ?? "no Docker engine";
    if (process.env.CI) throw new Error(`CI must run real Docker daemons, but ${noEngine}`);
    return;
  }
  await ensureRunUser(developer);
  work = await mkdtemp(path.join(tmpdir(), "sandbox-unprivileged-"));
  root = path.join(work, "root");
  const home = path.join(work, "home");
  for (const dir of [root, home]) {
    await mkdir(dir);
    await chown(dir, developer.uid, developer.uid);
  }
  await chmod(work, 0o755);
  base = DockerDaemons.baseOf(root);
  ({ process: service, url: sandboxUrl } = await startDeveloperService(root, home, "on"));
}, 120_000);

/** The service as the developer starts it, over `root` (the developer's own directory). */
async function startDeveloperService(serviceRoot: string, home: string, docker: "on" | "off") {
  const port = await freePort();
  const started = await startService(
    entry,
    {
      SANDBOX_ROOT: serviceRoot,
      SANDBOX_PORT: String(port),
      SANDBOX_DOCKER: docker,
      SANDBOX_STOP_GRACE_MS: "1000",
      SANDBOX_RUN_DISK_LIMIT: "64MiB",
      SANDBOX_TEST_SERVICE_UID: String(developer.uid),
      HOME: home,
      USER: `prewarm-${developer.uid}`,
    },
    `http://127.0.0.1:${port}/v1/health`,
  );
  return { process: started, url: `http://127.0.0.1:${port}` };
}

afterAll(async () => {
  await replicaHost?.close();
  await kill9(otherService);
  await kill9(service);
  if (work) await rm(work, { recursive: true, force: true });
  if (base) await rm(base, { recursive: true, force: true });
});

let sandboxUrl = "";
let replicaHost: ServedSandbox | undefined;
let otherService: ChildProcess | null = null;
async function call(method: string, url: string, body?: unknown, base = sandboxUrl): Promise<Response> {
  return fetch(`${base}${url}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function build(buildId: string, script: string): Promise<{ build: Build; log: string }> {
  const started = await call("POST", "/v1/builds", {
    build_id: buildId,
    project_id: "p1",
    startup_script: script,
    run_user: testRunUser("p1"),
  });
  expect(started.status, await started.clone().text()).toBe(202);
  let view: Build;
  do {
    await new Promise((resolve) => setTimeout(resolve, 250));
    view = (await (await call("GET", `/v1/builds/${buildId}`)).json()) as Build;
  } while (view.status === "running");
  return { build: view, log: await (await call("GET", `/v1/builds/${buildId}/log`)).text() };
}

// As the container's user 1000: a directory of the volume that only that user may open.
const closedFiles =
  "docker run --network=none -v kept:/data fidelity:1 sh -c " +
  "'mkdir /data/closed && echo private > /data/closed/file && chown -R 1000:1000 /data/closed && chmod 700 /data/closed'";

const rebuild = [
  "set -e",
  "export DOCKER_BUILDKIT=1",
  `mkdir app && cat > app/Dockerfile <<'DOCKERFILE'\n${dockerfile}DOCKERFILE`,
  "docker build --progress=plain --network=none -t fidelity:1 app",
  "docker run --rm --network=none -u 1000 -v kept:/data fidelity:1 cat /data/closed/file",
  "docker ps -a --format '{{.Names}}'",
].join("\n");

describe("a sandbox service that is not root", () => {
  it("builds with a rootless daemon of its own user, and promotes, copies, rebuilds and deletes what its containers wrote", {
    timeout: 300_000,
  }, async (context) => {
    if (noEngine) return context.skip(noEngine);
    const docker = await (await call("GET", "/v1/docker")).json();
    expect(docker).toMatchObject({ available: true, rootless: true, projects_isolated: false, refuses_runs: false });

    const first = await build("b1", `${buildScript}\n${closedFiles}`);
    expect(first.build.status, first.log).toBe("succeeded");
    expect(first.build.docker_engine).toMatchObject({ rootless: true, storage_driver: "overlay2" });

    // The golden holds files of the developer's subordinate IDs that the developer could not open.
    const golden = path.join(root, "goldens", "p1", "current", "docker");
    const original = await treeManifest(golden);
    const closed = Object.entries(original).filter(
      ([name, file]) => name.endsWith("/closed") && file.type === "dir" && file.mode === "700",
    );
    expect(closed.map(([, file]) => file.uid)).toEqual([developer.subuid_start + 999]);
    expect(Object.values(original).some((file) => file.mode === "0")).toBe(true);

    // A session's copy is the golden, path by path.
    const opened = await call("POST", "/v1/sessions", { session_id: "s1", project_id: "p1" });
    const session = (await opened.json()) as { docker_dir: string };
    expect(await treeManifest(session.docker_dir)).toEqual(original);

    // A host whose service is root numbers owners as the host does, not within this service's
    // namespace: it refuses the golden rather than give its files to the wrong users.
    replicaHost = await servedSandbox();
    const refused = await replicate(replicaHost, { url: sandboxUrl, token: null }, "p1", "b1");
    expect(refused.state).toBe("failed");
    expect(refused.error).toMatch(/^The golden comes from a sandbox service that is not root/);
    expect(await replicaHost.request("GET", "/v1/goldens/p1").then((res) => res.json())).toMatchObject({
      exists: false,
    });

    // Another service of the developer's fetches it: both ends read and write under the namespace,
    // and its golden is this one path by path, owners of subordinate IDs included.
    const otherRoot = path.join(work, "other-root");
    await mkdir(otherRoot);
    await chown(otherRoot, developer.uid, developer.uid);
    const other = await startDeveloperService(otherRoot, path.join(work, "home"), "off");
    otherService = other.process;
    const asked = await call(
      "POST",
      "/v1/goldens/p1/replication",
      { build_id: "b1", source_url: sandboxUrl, source_token: null },
      other.url,
    );
    expect(asked.status, await asked.clone().text()).toBe(202);
    const replication = await waitForReplication(other.url, "p1");
    expect(replication, replication.error ?? "").toMatchObject({ state: "promoted" });
    expect(await treeManifest(path.join(otherRoot, "goldens", "p1", "current", "docker"))).toEqual(original);
    await kill9(otherService);

    // The next build starts from the golden: its images, its cache and its volume are there.
    const second = await build("b2", rebuild);
    expect(second.build.status, second.log).toBe("succeeded");
    expect(second.log.match(/CACHED/g)?.length).toBeGreaterThanOrEqual(4);
    expect(second.log).toMatch(/^private$/m);
    expect(second.log).toMatch(/^stopped$/m);

    // What a container writes where only its user may look still counts against the run's share.
    const overrun = await build(
      "b3",
      "docker run --rm --network=none -u 1000 -v kept:/data fidelity:1 sh -c " +
        "'dd if=/dev/zero of=/data/closed/big bs=1M count=128 && sleep 30'",
    );
    expect(overrun.build.status, overrun.log).toBe("failed");
    expect(overrun.build.error).toContain("more than a run's share of disk on this sandbox (67.1 MB)");

    // Deleting the session and the cache leaves nothing of them.
    expect((await call("DELETE", "/v1/sessions/s1")).status).toBe(204);
    expect((await call("DELETE", "/v1/goldens/p1")).status).toBe(204);
    expect(await readdir(path.join(root, "sessions"))).toEqual([]);
    expect(await readdir(path.join(root, "goldens"))).toEqual([]);

    // Every process of the developer's daemons ended with its run.
    const left = execFileSync("ps", ["-u", String(developer.uid), "-o", "pid=,args="], { encoding: "utf8" })
      .split("\n")
      .filter((line) => line.trim() !== "" && !line.includes("unprivileged-sandbox"));
    expect(left).toEqual([]);
  });
});
