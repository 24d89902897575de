import { mkdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SequencedEvent } from "../src/events/event-bus.ts";
import { createTestSandbox, listDir, manifest, type TestSandbox } from "./helpers.ts";

let sandbox: TestSandbox;

beforeEach(async () => {
  sandbox = await createTestSandbox();
});
afterEach(async () => {
  await sandbox.close();
});

async function buildGolden(projectId: string, buildId: string, script: string) {
  await sandbox.startBuild({ build_id: buildId, project_id: projectId, startup_script: script });
  const build = await sandbox.waitForBuild(buildId);
  expect(build.status).toBe("succeeded");
}

const richTree = [
  'cd "$HELIX_DOCKER_DATA_ROOT"',
  "mkdir -p overlay2/l1/diff/etc volumes/empty",
  "echo config > overlay2/l1/diff/etc/app.conf",
  "chmod 640 overlay2/l1/diff/etc/app.conf",
  "ln -s ../l1/diff overlay2/link",
  "ln overlay2/l1/diff/etc/app.conf overlay2/hardlink.conf",
  "truncate -s 10M overlay2/sparse.img",
  "touch -d '2020-01-02 03:04:05' overlay2/l1/diff/etc/app.conf",
].join("\n");

describe("golden info and delete", () => {
  it("reports no golden for a project that never built one", async () => {
    const res = await sandbox.request("GET", "/v1/goldens/never");
    expect(await res.json()).toEqual({
      project_id: "never",
      exists: false,
      size_bytes: 0,
      built_at: null,
      build_id: null,
      last_used_at: null,
      docker_engine: null,
      unusable: null,
    });
  });

  it("deletes a golden, idempotently, without touching another project's", async () => {
    await buildGolden("p1", "b1", 'echo one > "$HELIX_DOCKER_DATA_ROOT/f"');
    await buildGolden("p2", "b2", 'echo two > "$HELIX_DOCKER_DATA_ROOT/f"');
    const other = await manifest(path.join(sandbox.root, "goldens", "p2"));

    expect((await sandbox.request("DELETE", "/v1/goldens/p1")).status).toBe(204);
    expect((await sandbox.request("DELETE", "/v1/goldens/p1")).status).toBe(204);

    expect((await (await sandbox.request("GET", "/v1/goldens/p1")).json()).exists).toBe(false);
    expect(await listDir(path.join(sandbox.root, "goldens"))).toEqual(["p2"]);
    expect(await manifest(path.join(sandbox.root, "goldens", "p2"))).toEqual(other);
  });
  it("leaves no empty project directory when a delete waited for a copy still reading the golden", async () => {
    await buildGolden("p1", "b1", 'echo one > "$HELIX_DOCKER_DATA_ROOT/f"');
    const { golden: reading } = await sandbox.services.goldens.pinCurrent("p1");
    expect((await sandbox.request("DELETE", "/v1/goldens/p1")).status).toBe(204);
    // The copy still reads its generation, so it is still there.
    expect(await listDir(path.join(sandbox.root, "goldens", "p1", "generations"))).toEqual(["b1"]);
    await reading?.release();
    expect(await listDir(path.join(sandbox.root, "goldens"))).toEqual([]);
  });
});

describe("a session's Docker directory", () => {
  it("is a faithful copy of the golden: modes, times, symlinks, hard links, sparse files, empty dirs", async () => {
    await buildGolden("p1", "b1", richTree);
    const res = await sandbox.request("POST", "/v1/sessions", { session_id: "s1", project_id: "p1" });
    expect(res.status).toBe(201);
    const session = await res.json();
    expect(session).toMatchObject({ session_id: "s1", project_id: "p1", source: "golden", golden_build_id: "b1" });

    const golden = path.join(sandbox.root, "goldens", "p1", "generations", "b1", "docker");
    expect(await manifest(session.docker_dir)).toEqual(await manifest(golden));
    const conf = await stat(path.join(session.docker_dir, "overlay2/l1/diff/etc/app.conf"));
    expect(conf.mode & 0o777).toBe(0o640);
    expect(conf.mtime.toISOString()).toBe(
      (await stat(path.join(golden, "overlay2/l1/diff/etc/app.conf"))).mtime.toISOString(),
    );
    expect(conf.nlink).toBe(2);
    const sparse = await stat(path.join(session.docker_dir, "overlay2/sparse.img"));
    expect(sparse.size).toBe(10 * 1024 * 1024);
    expect(sparse.blocks * 512).toBeLessThan(1024 * 1024);
    expect(await listDir(path.join(session.docker_dir, "volumes/empty"))).toEqual([]);
  });

  it("reports its progress while the golden is copied, through the API and as events", async () => {
    await buildGolden(
      "p1",
      "b1",
      'for i in $(seq 1 40); do head -c 1000000 /dev/urandom > "$HELIX_DOCKER_DATA_ROOT/layer$i"; done',
    );
    const events: SequencedEvent[] = [];
    sandbox.services.bus.subscribe((event) => events.push(event));
    const preparing = sandbox.request("POST", "/v1/sessions", { session_id: "s1", project_id: "p1" });
    let seen = null as { status: string; copied_bytes: number; total_bytes: number } | null;
    // Ask as a caller would, as often as it can, until the copy's size is known.
    const sizeKnown = async () => {
      const res = await sandbox.request("GET", "/v1/sessions/s1");
      seen = res.status === 200 ? await res.json() : null;
      return seen?.total_bytes ?? 0;
    };
    await expect.poll(sizeKnown, { interval: 1, timeout: 30_000 }).toBeGreaterThan(0);
    expect(seen).toMatchObject({ status: "preparing", total_bytes: 40_000_000 });
    expect(seen?.copied_bytes).toBeLessThanOrEqual(40_000_000);
    const done = await (await preparing).json();
    expect(done).toMatchObject({ status: "ready", copied_bytes: 40_000_000, total_bytes: 40_000_000 });
    const copies = events.flatMap((e) => (e.event.type === "copy" ? [e.event] : []));
    expect(copies.length).toBeGreaterThanOrEqual(2);
    expect(copies.at(-1)).toMatchObject({ session_id: "s1", copied_bytes: 40_000_000, total_bytes: 40_000_000 });
    expect(events.at(-1)?.event).toMatchObject({ type: "session", reason: "prepared" });
  });

  it("is empty when the project has no golden", async () => {
    const res = await sandbox.request("POST", "/v1/sessions", { session_id: "s1", project_id: "none-yet" });
    const session = await res.json();
    expect(session).toMatchObject({ source: "empty", golden_build_id: null, size_bytes: 0 });
    expect(await listDir(session.docker_dir)).toEqual([]);
  });

  it("cannot be prepared twice, and is removed idempotently without touching the golden", async () => {
    await buildGolden("p1", "b1", 'echo one > "$HELIX_DOCKER_DATA_ROOT/f"');
    const generation = path.join(sandbox.root, "goldens", "p1", "generations");
    const golden = await manifest(generation);
    await sandbox.request("POST", "/v1/sessions", { session_id: "s1", project_id: "p1" });
    const again = await sandbox.request("POST", "/v1/sessions", { session_id: "s1", project_id: "p1" });
    expect(again.status).toBe(409);

    expect((await sandbox.request("DELETE", "/v1/sessions/s1")).status).toBe(204);
    expect((await sandbox.request("DELETE", "/v1/sessions/s1")).status).toBe(204);
    expect((await sandbox.request("GET", "/v1/sessions/s1")).status).toBe(404);
    expect(await manifest(generation)).toEqual(golden);
  });

  it("keeps its copy whole when the golden is deleted during the copy", async () => {
    await buildGolden("p1", "b1", 'for i in $(seq 1 3000); do echo "$i" > "$HELIX_DOCKER_DATA_ROOT/f$i"; done');
    const golden = await manifest(path.join(sandbox.root, "goldens", "p1", "generations", "b1", "docker"));
    const copying = sandbox.request("POST", "/v1/sessions", { session_id: "s1", project_id: "p1" });
    // Delete once the copy has begun writing its staging directory.
    const tmp = path.join(sandbox.root, "tmp");
    const copyStarted = async () => {
      const staging = (await listDir(tmp)).find((name) => name.startsWith("session-s1-"));
      return staging !== undefined && (await listDir(path.join(tmp, staging))).includes("docker");
    };
    while (!(await copyStarted())) await new Promise((resolve) => setImmediate(resolve));
    const deleted = await sandbox.request("DELETE", "/v1/goldens/p1");
    expect(deleted.status).toBe(204);
    expect((await (await sandbox.request("GET", "/v1/goldens/p1")).json()).exists).toBe(false);
    const copied = await copying;
    expect(copied.status).toBe(201);
    const session = await copied.json();
    expect(session.source).toBe("golden");
    expect(await manifest(session.docker_dir)).toEqual(golden);
    // Once the copy is done, the deleted generation is gone too.
    expect(await listDir(path.join(sandbox.root, "goldens", "p1", "generations"))).toEqual([]);
  });
});

describe("restart recovery", () => {
  it("reports builds that were running as interrupted, keeps their logs and removes every leftover", async () => {
    await buildGolden("p1", "b1", 'echo one > "$HELIX_DOCKER_DATA_ROOT/f"');
    const golden = await manifest(path.join(sandbox.root, "goldens", "p1", "generations", "b1"));
    await sandbox.services.builds.stopAll();
    const root = sandbox.root;
    // What a kill -9 mid-build and mid-promotion leaves behind.
    const running = {
      build: {
        build_id: "b2",
        project_id: "p1",
        status: "running",
        started_at: new Date().toISOString(),
        finished_at: null,
        exit_code: null,
        error: null,
        size_bytes: null,
      },
      pid: null,
    };
    await writeFile(path.join(root, "build-records", "b2.json"), JSON.stringify(running));
    await writeFile(path.join(root, "build-records", "b2.log"), "halfway\n");
    await mkdir(path.join(root, "builds", "b2", "generation", "docker"), { recursive: true });
    await mkdir(path.join(root, "goldens", "p1", "generations", "b0", "docker"), { recursive: true });
    await symlink("generations/b2", path.join(root, "goldens", "p1", ".current.1234.tmp"));
    await mkdir(path.join(root, "tmp", "session-s9-xyz"), { recursive: true });

    const restarted = await (await import("./helpers.ts")).createTestSandbox({ root });
    const build = await (await restarted.request("GET", "/v1/builds/b2")).json();
    expect(build).toMatchObject({ status: "interrupted", error: "Build interrupted by sandbox restart" });
    expect(await readFile(path.join(root, "build-records", "b2.log"), "utf8")).toBe("halfway\n");
    expect(await listDir(path.join(root, "builds"))).toEqual([]);
    expect(await listDir(path.join(root, "tmp"))).toEqual([]);
    expect(await listDir(path.join(root, "goldens", "p1"))).toEqual(["current", "generations"]);
    expect(await listDir(path.join(root, "goldens", "p1", "generations"))).toEqual(["b1"]);
    expect(await manifest(path.join(root, "goldens", "p1", "generations", "b1"))).toEqual(golden);
    await restarted.close();
  });

  it("settles a build whose promotion completed before the crash as succeeded", async () => {
    await buildGolden("p1", "b1", 'echo one > "$HELIX_DOCKER_DATA_ROOT/f"');
    const recordPath = path.join(sandbox.root, "build-records", "b1.json");
    const record = JSON.parse(await readFile(recordPath, "utf8"));
    record.build = { ...record.build, status: "running", finished_at: null, exit_code: null, size_bytes: null };
    await writeFile(recordPath, JSON.stringify(record));
    const restarted = await (await import("./helpers.ts")).createTestSandbox({ root: sandbox.root });
    const build = await (await restarted.request("GET", "/v1/builds/b1")).json();
    expect(build).toMatchObject({ status: "succeeded", size_bytes: 4 });
  });
});
