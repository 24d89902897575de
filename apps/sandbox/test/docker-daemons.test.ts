// Runs with a real Docker daemon each: a build's startup script builds an image with plain
// `docker` commands against its own dockerd, the golden is taken only once that daemon has
// stopped, a test session's daemon starts on the copy and finds the images, and nothing of a
// daemon (process or mount) outlives its run, whether it ends, fails to start or is stopped.
import { type ChildProcess, execFileSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { entries, freePort, kill9, seededRandom, startService } from "@prewarm/test-kit/processes";
import { treeManifest } from "@prewarm/test-kit/tree-manifest";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { DockerDaemons, type DockerEngine, findEngine } from "../src/docker/docker-daemon.ts";
import { mountsUnder, processesUnder } from "../src/docker/run-leftovers.ts";
import { createTestSandbox, type TestSandbox } from "./helpers.ts";
import { daemonOfProject, testRunUser } from "./support/run-users.ts";

let engine: DockerEngine | null = null;
let noEngine = "";
beforeAll(async () => {
  const found = await findEngine("auto");
  engine = found.engine;
  noEngine = found.reason ?? "";
  if (!engine && process.env.CI) throw new Error(`CI must run real Docker daemons, but ${noEngine}`);
});

let sandbox: TestSandbox | null = null;
afterEach(async () => {
  await sandbox?.close();
  sandbox = null;
});

/** A sandbox whose runs get real daemons; closed after the test (the last one made, with its root). */
async function withDaemons(options: { args?: string[]; root?: string } = {}): Promise<TestSandbox> {
  if (!engine) throw new Error("no engine");
  sandbox = await createTestSandbox({
    docker: { ...engine, args: options.args ?? engine.args },
    stopGraceMs: 1_000,
    root: options.root,
  });
  return sandbox;
}

/** A base image from the host's static busybox, built offline, then a step that takes a moment. */
const buildImage = [
  "set -e",
  "mkdir -p ctx && cp /bin/busybox ctx/",
  'printf \'FROM scratch\\nCOPY busybox /bin/busybox\\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\\nRUN echo built > /built\\n\' > ctx/Dockerfile',
  "echo building the image",
  "DOCKER_BUILDKIT=1 docker build --progress=plain --network=none -t demo:1 ctx",
  "docker run --rm --network=none demo:1 cat /built",
].join("\n");

/** Nothing of any daemon of this sandbox is left (once its storage-driver probe has ended): no process, no mount. */
async function nothingLeft(sb: TestSandbox): Promise<void> {
  await sb.services.daemons.settled();
  const prefixes = [sb.root, sb.services.daemons?.base ?? sb.root];
  expect(await processesUnder(prefixes)).toEqual([]);
  expect(await mountsUnder(prefixes)).toEqual([]);
}

const log = async (sb: TestSandbox, buildId: string) => (await sb.request("GET", `/v1/builds/${buildId}/log`)).text();

describe("a Docker daemon per run", () => {
  it("lets a build's script build images with docker, and promotes the directory only after the daemon stopped", async (context) => {
    if (!engine) return context.skip(noEngine);
    const sb = await withDaemons();
    await sb.startBuild({ build_id: "b1", project_id: "p1", startup_script: buildImage });
    const build = await sb.waitForBuild("b1");
    const output = await log(sb, "b1");
    expect(build.status, output).toBe("succeeded");
    // No golden yet: an empty directory, and every step of the build runs.
    expect(output).toContain("No golden yet: starting from an empty Docker directory");
    expect(output).not.toContain("CACHED");
    expect(output).toContain("Starting a Docker daemon");
    expect(output).toMatch(/Docker \S+ \(overlay2, rootless\) is up/);
    expect(output).toMatch(/^built\r?$/m);
    // The build records which engine ran it.
    expect(build.docker_engine).toEqual({
      version: expect.stringMatching(/^\d+\.\d+/),
      storage_driver: "overlay2",
      rootless: true,
    });
    expect(await (await sb.request("GET", "/v1/docker")).json()).toEqual({
      available: true,
      detail: null,
      rootless: true,
      projects_isolated: true,
      refuses_runs: false,
    });
    // The daemon's own log is kept beside the build's.
    expect(await readFile(path.join(sb.root, "build-records", "b1.dockerd.log"), "utf8")).toContain(
      "Daemon shutdown complete",
    );
    const repositories = JSON.parse(
      await readFile(
        path.join(sb.root, "goldens", "p1", "current", "docker", "image", "overlay2", "repositories.json"),
        "utf8",
      ),
    );
    expect(Object.keys(repositories.Repositories)).toContain("demo");
    await nothingLeft(sb);
  });

  it("gives a test session a daemon on its copy of the golden: the images are there and rebuilding is CACHED", async (context) => {
    if (!engine) return context.skip(noEngine);
    const sb = await withDaemons();
    await sb.startBuild({ build_id: "b1", project_id: "p1", startup_script: buildImage });
    expect((await sb.waitForBuild("b1")).status).toBe("succeeded");
    const golden = await treeManifest(path.join(sb.root, "goldens", "p1", "generations"));

    await sb.request("POST", "/v1/test-sessions", {
      session_id: "t1",
      project_id: "p1",
      startup_script: `docker images --format '{{.Repository}}:{{.Tag}}'\n${buildImage}\ndocker rmi -f demo:1`,
    });
    await expect
      .poll(async () => (await (await sb.request("GET", "/v1/test-sessions/t1")).json()).status, { timeout: 60_000 })
      .toMatch(/^(succeeded|failed|stopped)$/);
    const session = await (await sb.request("GET", "/v1/test-sessions/t1")).json();
    const output = await (await sb.request("GET", "/v1/test-sessions/t1/log")).text();
    expect(session.status, output).toBe("succeeded");
    expect(session.docker_engine).toMatchObject({ storage_driver: "overlay2" });
    expect(output).toMatch(/^demo:1\r?$/m);
    expect(output).toContain("CACHED");
    // Removing the image in the session changed nothing of the golden.
    expect(await treeManifest(path.join(sb.root, "goldens", "p1", "generations"))).toEqual(golden);
    await nothingLeft(sb);
  });

  it("keeps concurrent sessions independent of each other and of the golden", async (context) => {
    if (!engine) return context.skip(noEngine);
    const sb = await withDaemons();
    const withVolume = `${buildImage}\ndocker run --rm --network=none -v data:/data demo:1 sh -c 'echo from-the-build > /data/file'`;
    await sb.startBuild({ build_id: "b1", project_id: "p1", startup_script: withVolume });
    expect((await sb.waitForBuild("b1")).status).toBe("succeeded");
    const golden = await treeManifest(path.join(sb.root, "goldens", "p1", "generations"));
    const run = "docker run --rm --network=none -v data:/data demo:1";
    // Two sessions at once: one writes the volume and removes the image; the other, a moment
    // later, still has both as the golden had them.
    await sb.request("POST", "/v1/test-sessions", {
      session_id: "writer",
      project_id: "p1",
      startup_script: `${run} sh -c 'echo from-a-session > /data/file'\ndocker rmi -f demo:1\necho changed`,
    });
    await sb.request("POST", "/v1/test-sessions", {
      session_id: "reader",
      project_id: "p1",
      startup_script: `sleep 3\ndocker images --format 'image {{.Repository}}:{{.Tag}}'\n${run} cat /data/file`,
    });
    const ended = async (id: string) => {
      await expect
        .poll(async () => (await (await sb.request("GET", `/v1/test-sessions/${id}`)).json()).status, {
          timeout: 60_000,
        })
        .toMatch(/^(succeeded|failed|stopped)$/);
      return (await sb.request("GET", `/v1/test-sessions/${id}/log`)).text();
    };
    const [writer, reader] = await Promise.all([ended("writer"), ended("reader")]);
    expect(writer).toContain("changed");
    expect(reader).toMatch(/^image demo:1\r?$/m);
    expect(reader).toMatch(/^from-the-build\r?$/m);
    expect(await treeManifest(path.join(sb.root, "goldens", "p1", "generations"))).toEqual(golden);

    // A platform's session prepared by POST /v1/sessions starts its own daemon on the directory:
    // first attempt, no error, the images and the volume there.
    const session = await (await sb.request("POST", "/v1/sessions", { session_id: "s1", project_id: "p1" })).json();
    const daemonLog = path.join(sb.root, "platform-dockerd.log");
    const { daemon, close } = await daemonOfProject(sb.services, "p1", "platform:s1", session.docker_dir, daemonLog);
    try {
      const images = execFileSync(engine.docker, ["images", "--format", "{{.Repository}}:{{.Tag}}"], {
        env: { ...process.env, DOCKER_HOST: daemon?.host },
        encoding: "utf8",
      });
      expect(images.split("\n")).toContain("demo:1");
    } finally {
      await close();
    }
    const errors = (await readFile(daemonLog, "utf8"))
      .split("\n")
      .filter((line) => line.includes("level=error"))
      // dockerd 20.10's containerd event stream ends with this at every shutdown.
      .filter((line) => !line.includes("Failed to get event"));
    expect(errors).toEqual([]);
    // Cleaning the session up removes its directory and leaves the golden as it was.
    expect((await sb.request("DELETE", "/v1/sessions/s1")).status).toBe(204);
    expect(await readdir(path.join(sb.root, "sessions"))).toEqual([]);
    expect(await treeManifest(path.join(sb.root, "goldens", "p1", "generations"))).toEqual(golden);
    await nothingLeft(sb);
  });

  it("stops a build with a container running: its daemon and container end, nothing stays mounted", async (context) => {
    if (!engine) return context.skip(noEngine);
    const sb = await withDaemons();
    await sb.startBuild({
      build_id: "b2",
      project_id: "p2",
      startup_script: `${buildImage}\ndocker run -d --network=none demo:1 sleep 600\necho container started\nsleep 600`,
    });
    await expect.poll(() => log(sb, "b2"), { timeout: 60_000 }).toContain("container started");
    const stopped = await (await sb.request("POST", "/v1/builds/b2/stop", {})).json();
    expect(stopped.status).toBe("stopped");
    expect((await sb.request("GET", "/v1/goldens/p2").then((res) => res.json())).exists).toBe(false);
    await nothingLeft(sb);
  });

  it("promotes only a directory a new daemon opens: a build that leaves it broken fails and keeps the golden", async (context) => {
    if (!engine) return context.skip(noEngine);
    const sb = await withDaemons();
    await sb.startBuild({ build_id: "b1", project_id: "p1", startup_script: buildImage });
    expect((await sb.waitForBuild("b1")).status, await log(sb, "b1")).toBe("succeeded");
    expect(await log(sb, "b1")).toContain("A new Docker daemon opens it without an error (overlay2)");
    // The script exits 0, but leaves the daemon's image store unreadable.
    await sb.startBuild({
      build_id: "b2",
      project_id: "p1",
      startup_script: 'echo "{not json" > "$HELIX_DOCKER_DATA_ROOT/image/overlay2/repositories.json"',
    });
    const broken = await sb.waitForBuild("b2");
    expect(broken.status, await log(sb, "b2")).toBe("failed");
    expect(broken.error).toMatch(/^The Docker daemon did not start: the rootless daemon exited/);
    const golden = await (await sb.request("GET", "/v1/goldens/p1")).json();
    expect(golden).toMatchObject({ exists: true, build_id: "b1" });
    await nothingLeft(sb);
  });

  it("hands no session a golden this host's daemons cannot open (another storage driver), says why, and the next build replaces it", async (context) => {
    if (!engine) return context.skip(noEngine);
    const made = await withDaemons();
    await made.startBuild({ build_id: "b1", project_id: "p1", startup_script: buildImage });
    expect((await made.waitForBuild("b1")).status).toBe("succeeded");
    expect(await (await made.request("GET", "/v1/goldens/p1")).json()).toMatchObject({
      docker_engine: { storage_driver: "overlay2" },
      unusable: null,
    });
    await made.services.daemons.settled();

    // The same root, reopened by daemons that use another storage driver.
    const sb = await withDaemons({ args: [...(engine?.args ?? []), "--storage-driver=vfs"], root: made.root });
    const reason = "The golden was made with Docker's overlay2 storage driver, and this sandbox's daemons use vfs";
    expect(await (await sb.request("GET", "/v1/goldens/p1")).json()).toMatchObject({
      exists: true,
      build_id: "b1",
      unusable: reason,
    });
    const session = await (await sb.request("POST", "/v1/sessions", { session_id: "s1", project_id: "p1" })).json();
    expect(session).toMatchObject({ source: "empty", golden_build_id: null, golden_unusable: reason });
    expect(await readdir(session.docker_dir)).toEqual([]);
    await sb.request("POST", "/v1/test-sessions", {
      session_id: "t1",
      project_id: "p1",
      startup_script: "docker images --format 'image {{.Repository}}'",
    });
    await expect
      .poll(async () => (await (await sb.request("GET", "/v1/test-sessions/t1")).json()).status, { timeout: 60_000 })
      .toBe("succeeded");
    const tested = await (await sb.request("GET", "/v1/test-sessions/t1")).json();
    expect(tested.prepared).toMatchObject({ source: "empty", golden_unusable: reason });
    const testLog = await (await sb.request("GET", "/v1/test-sessions/t1/log")).text();
    expect(testLog).toContain(`Cache not used: ${reason}`);
    expect(testLog).not.toContain("image demo");

    // The next build starts empty, and what it promotes opens here.
    await sb.startBuild({ build_id: "b2", project_id: "p1", startup_script: buildImage });
    expect((await sb.waitForBuild("b2")).status, await log(sb, "b2")).toBe("succeeded");
    expect(await log(sb, "b2")).toContain(`${reason}: starting from an empty Docker directory; this build replaces it`);
    expect(await (await sb.request("GET", "/v1/goldens/p1")).json()).toMatchObject({
      build_id: "b2",
      docker_engine: { storage_driver: "vfs" },
      unusable: null,
    });
    const next = await (await sb.request("POST", "/v1/sessions", { session_id: "s2", project_id: "p1" })).json();
    expect(next).toMatchObject({ source: "golden", golden_build_id: "b2", golden_unusable: null });
    await nothingLeft(sb);
  });

  it("never hands a golden a root daemon made to a rootless one: it is reported and the next build replaces it", async (context) => {
    if (!engine) return context.skip(noEngine);
    const sb = await withDaemons();
    await sb.startBuild({ build_id: "b1", project_id: "p1", startup_script: buildImage });
    expect((await sb.waitForBuild("b1")).status, await log(sb, "b1")).toBe("succeeded");
    // As a golden made before daemons were rootless records itself (or does not record at all).
    const metaFile = path.join(sb.root, "goldens", "p1", "generations", "b1", "golden.json");
    const meta = JSON.parse(await readFile(metaFile, "utf8"));
    const reason = "The golden was made by a root Docker daemon, and this sandbox's daemons are rootless";
    for (const made of [
      { ...meta, docker_engine: { ...meta.docker_engine, rootless: false } },
      { ...meta, docker_engine: undefined },
    ]) {
      await writeFile(metaFile, JSON.stringify(made));
      expect(await (await sb.request("GET", "/v1/goldens/p1")).json()).toMatchObject({
        build_id: "b1",
        unusable: reason,
      });
    }
    const session = await (await sb.request("POST", "/v1/sessions", { session_id: "s1", project_id: "p1" })).json();
    expect(session).toMatchObject({ source: "empty", golden_unusable: reason });
    await sb.startBuild({ build_id: "b2", project_id: "p1", startup_script: buildImage });
    expect((await sb.waitForBuild("b2")).status, await log(sb, "b2")).toBe("succeeded");
    expect(await log(sb, "b2")).toContain(`${reason}: starting from an empty Docker directory; this build replaces it`);
    expect(await (await sb.request("GET", "/v1/goldens/p1")).json()).toMatchObject({
      build_id: "b2",
      docker_engine: { rootless: true },
      unusable: null,
    });
  });

  it("fails a build whose daemon does not start, saying why with the daemon's last words", async (context) => {
    if (!engine) return context.skip(noEngine);
    const sb = await withDaemons({ args: ["--no-such-flag"] });
    await sb.startBuild({ build_id: "b3", project_id: "p3", startup_script: "echo never runs" });
    const build = await sb.waitForBuild("b3");
    expect(build.status).toBe("failed");
    expect(build.error).toContain("The Docker daemon did not start");
    expect(build.error).toContain("no-such-flag");
    expect(await log(sb, "b3")).not.toContain("never runs");
    await nothingLeft(sb);
  });
});

describe("a sandbox that cannot run rootless daemons and may not run root ones", () => {
  it("refuses builds and test sessions, saying why, and records nothing", async () => {
    const reason = "rootless Docker daemons cannot run on this sandbox (/usr/bin/rootlesskit is missing)";
    sandbox = await createTestSandbox({ refusing: reason });
    expect(await (await sandbox.request("GET", "/v1/docker")).json()).toMatchObject({
      available: false,
      detail: reason,
      refuses_runs: true,
    });
    for (const [url, body] of [
      ["/v1/builds", { build_id: "b1", project_id: "p1", startup_script: "echo never" }],
      ["/v1/test-sessions", { session_id: "t1", project_id: "p1", startup_script: "echo never" }],
    ] as const) {
      const res = await sandbox.request("POST", url, body);
      expect(res.status, url).toBe(503);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(await res.json()).toMatchObject({ code: "runs_refused", detail: `This sandbox refuses runs: ${reason}` });
    }
    expect((await sandbox.request("GET", "/v1/builds/b1")).status).toBe(404);
    expect((await sandbox.request("GET", "/v1/test-sessions/t1")).status).toBe(404);
  });
});

describe("a sandbox whose runs get no Docker daemon", () => {
  it("says so, for the sandbox and in each run's log and record, and still runs the script", async () => {
    sandbox = await createTestSandbox();
    expect(await (await sandbox.request("GET", "/v1/docker")).json()).toEqual({
      available: false,
      detail: "Docker daemons are turned off on this sandbox",
      rootless: null,
      projects_isolated: true,
      refuses_runs: false,
    });
    await sandbox.startBuild({
      build_id: "b1",
      project_id: "p1",
      startup_script: "echo ran; printenv DOCKER_HOST || true",
    });
    const build = await sandbox.waitForBuild("b1");
    expect(build).toMatchObject({ status: "succeeded", docker_engine: null });
    const output = await log(sandbox, "b1");
    expect(output).toContain("No Docker daemon for this run: Docker daemons are turned off on this sandbox");
    expect(output).toMatch(/^ran\r?$/m);
  });
});

describe("a sandbox killed under a build with a running Docker daemon", () => {
  // Killed ten times, at random moments after each step of the run is reached (the daemon
  // starting, the script starting, images building, a container running), and started again on
  // the same root each time. DAEMON_CRASH_SEED replays a run.
  const moments = ["Starting a Docker daemon", "Running the startup script", "building the image", "container started"];
  const kills = Number(process.env.DAEMON_CRASH_KILLS ?? 10);
  const seed = Number(process.env.DAEMON_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));

  it(`ends the orphaned daemon, its containerd and containers, unmounts, and reports the build interrupted (${kills} kills, seed ${seed})`, async (context) => {
    if (!engine) return context.skip(noEngine);
    const root = await mkdtemp(path.join(tmpdir(), "daemon-crash-"));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const daemonFiles = DockerDaemons.baseOf(root);
    const prefixes = [root, daemonFiles];
    const start = () =>
      startService(
        entries.sandbox,
        { SANDBOX_ROOT: root, SANDBOX_PORT: String(port), SANDBOX_DOCKER: "on", SANDBOX_STOP_GRACE_MS: "1000" },
        `${base}/v1/health`,
      );
    let service: ChildProcess | null = await start();
    try {
      const random = seededRandom(seed);
      for (let i = 0; i < kills; i++) {
        const moment = moments[i % moments.length] as string;
        const buildId = `crash${i}`;
        const started = await fetch(`${base}/v1/builds`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            build_id: buildId,
            project_id: "p1",
            run_user: testRunUser("p1"),
            startup_script: `${buildImage}\ndocker run -d --network=none demo:1 sleep 600\necho container started\nsleep 600`,
          }),
        });
        expect(started.status).toBe(202);
        await expect
          .poll(async () => (await fetch(`${base}/v1/builds/${buildId}/log`)).text(), { timeout: 60_000 })
          .toContain(moment);
        await new Promise((resolve) => setTimeout(resolve, random() * 1500));
        await kill9(service);
        service = null;
        // The daemon outlived the service: that is what the restart must clean up.
        if (i % moments.length > 0) expect((await processesUnder(prefixes)).length).toBeGreaterThan(0);

        service = await start();
        const build = await (await fetch(`${base}/v1/builds/${buildId}`)).json();
        expect(build).toMatchObject({ status: "interrupted", error: "Build interrupted by sandbox restart" });
        // What the killed service left is gone; the restarted one asks a daemon of its own which
        // storage driver this host uses, and that daemon ends by itself within seconds.
        await expect.poll(() => processesUnder(prefixes), { timeout: 20_000 }).toEqual([]);
        expect(await mountsUnder(prefixes)).toEqual([]);
        expect(await readdir(path.join(root, "builds"))).toEqual([]);
        const golden = (await (await fetch(`${base}/v1/goldens/p1`)).json()) as { exists: boolean };
        expect(golden.exists).toBe(false);
      }
    } finally {
      await kill9(service);
      const leftovers = await createTestSandbox({ root, docker: engine });
      await leftovers.close();
      await rm(root, { recursive: true, force: true });
    }
  }, 300_000);
});
