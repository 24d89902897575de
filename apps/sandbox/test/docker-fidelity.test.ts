// Copies of a real Docker data root, made by a real daemon with everything that makes overlay2
// hard to copy: files deleted in a later layer (whiteouts), a directory removed and made again
// (opaque), hard links, symlinks, a sparse file, setuid and mode-000 files, a named volume
// written by a container, a stopped container and a BuildKit cache mount. Both ways a session's
// copy is made (one `cp -a`, or the tree cut into batches for several) must give a daemon the
// same images, contents, volume and container, rebuild every step CACHED, and match the golden
// path by path (type, mode, owner, size, times, link groups, xattrs). So must a replica of the
// golden on another host, streamed over HTTP as a zstd-compressed tar and checked there.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { treeManifest } from "@prewarm/test-kit/tree-manifest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DockerEngine, findEngine } from "../src/docker/docker-daemon.ts";
import { planCopy } from "../src/fs/copy-plan.ts";
import { copyTree } from "../src/fs/copy-tree.ts";
import type { TestSandbox } from "./helpers.ts";
import { buildScript, dockerfile } from "./support/fidelity-build.ts";
import { daemonOfProject } from "./support/run-users.ts";
import { replicate, type ServedSandbox, servedSandbox } from "./support/served-sandbox.ts";

/** What a daemon on `dockerDir` sees: image IDs, a container's view of the files, the volume, the stopped container. */
function observe(sandbox: TestSandbox, engine: DockerEngine, dockerDir: string, runId: string) {
  return async () => {
    const { daemon, close } = await daemonOfProject(
      sandbox.services,
      "p1",
      runId,
      dockerDir,
      path.join(sandbox.root, `${runId}.log`),
    );
    if (!daemon) throw new Error("no daemon");
    const docker = (...args: string[]) =>
      execFileSync(engine.docker, args, {
        env: { ...process.env, DOCKER_HOST: daemon.host, DOCKER_BUILDKIT: "1" },
        encoding: "utf8",
      });
    try {
      const inside =
        "cat /opt/d/c /opt/keep/hard /opt/from-cache; ls /opt/d; readlink /opt/keep/sym;" +
        " stat -c '%a %s' /opt/keep/suid /opt/keep/zero /opt/keep/sparse";
      return {
        images: docker("images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").split("\n").sort(),
        files: docker("run", "--rm", "--network=none", "fidelity:1", "sh", "-c", inside),
        volume: docker("run", "--rm", "--network=none", "-v", "kept:/data", "fidelity:1", "cat", "/data/file"),
        containers: docker("ps", "-a", "--format", "{{.Names}} {{.Status}}")
          .replace(/\(\d+\).*/, "")
          .trim(),
        rebuild: execFileSync(
          "bash",
          [
            "-c",
            `cd "$(mktemp -d)" && cat > Dockerfile <<'DOCKERFILE'\n${dockerfile}DOCKERFILE\ndocker build --progress=plain --network=none -t fidelity:1 . 2>&1`,
          ],
          {
            env: {
              ...process.env,
              DOCKER_HOST: daemon.host,
              DOCKER_BUILDKIT: "1",
              PATH: `${daemon.binDir}:${process.env.PATH}`,
            },
            encoding: "utf8",
          },
        ),
      };
    } finally {
      await close();
    }
  };
}

let engine: DockerEngine | null = null;
let noEngine = "";
let sandbox: ServedSandbox;
beforeAll(async () => {
  const found = await findEngine("auto");
  engine = found.engine;
  noEngine = found.reason ?? "";
  if (!engine && process.env.CI) throw new Error(`CI must run real Docker daemons, but ${noEngine}`);
  if (engine) sandbox = await servedSandbox({ docker: engine, stopGraceMs: 1000 });
});
afterAll(async () => {
  await sandbox?.close();
});

describe("a copy of a real Docker data root", () => {
  it("is the same to a daemon and path by path, by one cp and by batches", { timeout: 180_000 }, async (context) => {
    if (!engine) return context.skip(noEngine);
    await sandbox.startBuild({ build_id: "b1", project_id: "p1", startup_script: buildScript });
    const build = await sandbox.waitForBuild("b1");
    expect(build.status, await (await sandbox.request("GET", "/v1/builds/b1/log")).text()).toBe("succeeded");
    const golden = path.join(sandbox.root, "goldens", "p1", "current", "docker");
    const original = await treeManifest(golden);
    // The root has what this test is about.
    const types = Object.values(original).map((entry) => entry.type);
    expect(types).toContain("char"); // whiteouts
    // A rootless daemon marks opaque directories in the user.* namespace.
    expect(Object.values(original).some((entry) => entry.xattrs?.["user.overlay.opaque"])).toBe(true);
    expect(Object.values(original).some((entry) => entry.linkedTo)).toBe(true);
    expect(Object.values(original).some((entry) => entry.sparse)).toBe(true);
    expect(Object.values(original).some((entry) => entry.mode === "4755")).toBe(true);
    expect(Object.values(original).some((entry) => entry.mode === "0")).toBe(true);

    // A session's copy, the way the service makes it, and a copy cut into batches.
    const session = await (
      await sandbox.request("POST", "/v1/sessions", { session_id: "s1", project_id: "p1" })
    ).json();
    const split = path.join(sandbox.root, "split-copy");
    const plan = await planCopy(golden, { workers: 4, parallelFromBytes: 0 });
    expect(plan.batches.length).toBeGreaterThan(1);
    await copyTree(golden, split, { workers: 4, plan });
    for (const copy of [session.docker_dir, split]) {
      expect(await treeManifest(copy)).toEqual(original);
    }

    // What a daemon sees in a plain `cp -a` of the golden (a daemon never runs on a golden itself).
    const reference = path.join(sandbox.root, "reference-copy");
    execFileSync("cp", ["-a", golden, reference]);
    const seen = await observe(sandbox, engine, reference, "fidelity:reference")();
    expect(seen.files.split("\n").slice(0, 5)).toEqual(["fresh", "a", "cached", "c", "/opt/d/a"]);
    expect(seen.files).toMatch(/^4755 \d+$/m);
    expect(seen.files).toMatch(/^0 7$/m);
    expect(seen.files).toMatch(/^644 10485761$/m);
    expect(seen.volume).toBe("in-the-volume\n");
    expect(seen.containers).toMatch(/^stopped Exited/);
    expect(seen.rebuild.match(/CACHED/g)?.length).toBeGreaterThanOrEqual(4);
    // Another host fetches the golden; a daemon there opens a copy of its replica.
    const replicaHost = await servedSandbox({ docker: engine, stopGraceMs: 1000 });
    try {
      const replication = await replicate(replicaHost, sandbox, "p1", "b1", { compression: "zstd" });
      expect(replication, replication.error).toMatchObject({ state: "promoted" });
      const replica = path.join(replicaHost.root, "goldens", "p1", "current", "docker");
      expect(await treeManifest(replica)).toEqual(original);
      const replicaCopy = path.join(replicaHost.root, "replica-copy");
      execFileSync("cp", ["-a", replica, replicaCopy]);
      const there = await observe(replicaHost, engine, replicaCopy, "fidelity:replica")();
      expect(there.images).toEqual(seen.images);
      expect(there.files).toBe(seen.files);
      expect(there.volume).toBe(seen.volume);
      expect(there.containers).toBe(seen.containers);
      expect(there.rebuild.match(/CACHED/g)?.length).toBe(seen.rebuild.match(/CACHED/g)?.length);
    } finally {
      await replicaHost.close();
    }
    for (const [copy, runId] of [
      [session.docker_dir, "fidelity:session"],
      [split, "fidelity:split"],
    ] as const) {
      const other = await observe(sandbox, engine, copy, runId)();
      expect(other.images).toEqual(seen.images);
      expect(other.files).toBe(seen.files);
      expect(other.volume).toBe(seen.volume);
      expect(other.containers).toBe(seen.containers);
      expect(other.rebuild.match(/CACHED/g)?.length).toBe(seen.rebuild.match(/CACHED/g)?.length);
    }
  });
});
