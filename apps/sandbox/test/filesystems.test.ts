// The golden filesystem service on real small filesystems: a disk that fills up, and XFS with
// reflink where a session's copy shares the golden's blocks.
import { statfs, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestSandbox, listDir, manifest, type TestSandbox } from "./helpers.ts";
import { type LoopMount, loopMount } from "./support/loop-mount.ts";

const freeBytes = async (dir: string) => {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
};

describe("a disk that fills up (ext4, 96 MB)", () => {
  let mount: LoopMount | null = null;
  let skip: string | null = null;
  let sandbox: TestSandbox;

  beforeAll(async () => {
    const result = await loopMount("ext4", 96);
    mount = result.mount;
    skip = result.skip;
    if (skip) console.warn(`[disk-full tests] skipped: ${skip}`);
    if (mount) sandbox = await createTestSandbox({ root: path.join(mount.dir, "root") });
  });
  afterAll(async () => {
    if (mount) {
      await sandbox.services.builds.stopAll();
      await mount.unmount();
    }
  });

  it("fails a build that fills it with an error naming the cause, and keeps the golden", async (context) => {
    if (!mount) return context.skip(skip ?? "");
    await sandbox.startBuild({
      build_id: "b1",
      project_id: "p1",
      startup_script: 'head -c 8000000 /dev/urandom > "$HELIX_DOCKER_DATA_ROOT/layer"',
    });
    expect((await sandbox.waitForBuild("b1")).status).toBe("succeeded");
    const golden = await manifest(path.join(sandbox.root, "goldens", "p1", "generations"));
    const freeBefore = await freeBytes(mount.dir);

    await sandbox.startBuild({
      build_id: "b2",
      project_id: "p1",
      startup_script: 'set -e\ndd if=/dev/zero of="$HELIX_DOCKER_DATA_ROOT/huge" bs=1M count=500 status=none',
    });
    const build = await sandbox.waitForBuild("b2");
    expect(build.status).toBe("failed");
    expect(build.error).toBe(
      "The sandbox ran out of disk space during the build (no space left on device); the previous golden is untouched",
    );
    expect(await manifest(path.join(sandbox.root, "goldens", "p1", "generations"))).toEqual(golden);
    expect((await (await sandbox.request("GET", "/v1/goldens/p1")).json()).build_id).toBe("b1");
    // The build's own directory is gone, and with it the space it took.
    expect(await listDir(path.join(sandbox.root, "builds"))).toEqual([]);
    expect(await freeBytes(mount.dir)).toBeGreaterThan(freeBefore - 1_000_000);
  });

  it("refuses a session copy that does not fit, leaving nothing behind", async (context) => {
    if (!mount) return context.skip(skip ?? "");
    // Leave less room than the 8 MB golden needs.
    const filler = path.join(mount.dir, "filler");
    await writeFile(filler, Buffer.alloc(Math.max(0, (await freeBytes(mount.dir)) - 4_000_000)));
    const res = await sandbox.request("POST", "/v1/sessions", { session_id: "s1", project_id: "p1" });
    expect(res.status).toBe(507);
    expect(await res.json()).toMatchObject({ code: "disk_full" });
    expect(await listDir(path.join(sandbox.root, "tmp"))).toEqual([]);
    expect(await listDir(path.join(sandbox.root, "sessions"))).toEqual([]);
  });
});

describe("XFS with reflink", () => {
  let mount: LoopMount | null = null;
  let skip: string | null = null;
  let sandbox: TestSandbox;

  beforeAll(async () => {
    const result = await loopMount("xfs", 512);
    mount = result.mount;
    skip = result.skip;
    if (skip) console.warn(`[reflink tests] skipped: ${skip}`);
    if (mount) sandbox = await createTestSandbox({ root: path.join(mount.dir, "root") });
  });
  afterAll(async () => {
    if (mount) {
      await sandbox.services.builds.stopAll();
      await mount.unmount();
    }
  });

  it("prepares a session by cloning the golden's blocks instead of copying them", async (context) => {
    if (!mount) return context.skip(skip ?? "");
    await sandbox.startBuild({
      build_id: "b1",
      project_id: "p1",
      startup_script: [
        'mkdir -p "$HELIX_DOCKER_DATA_ROOT/overlay2/a/diff" "$HELIX_DOCKER_DATA_ROOT/overlay2/b/diff"',
        'head -c 60000000 /dev/urandom > "$HELIX_DOCKER_DATA_ROOT/overlay2/a/diff/blob"',
        'head -c 60000000 /dev/urandom > "$HELIX_DOCKER_DATA_ROOT/overlay2/b/diff/blob"',
      ].join("\n"),
    });
    expect((await sandbox.waitForBuild("b1")).status).toBe("succeeded");
    const freeBefore = await freeBytes(mount.dir);
    const res = await sandbox.request("POST", "/v1/sessions", { session_id: "s1", project_id: "p1" });
    expect(res.status).toBe(201);
    const session = await res.json();
    expect(session).toMatchObject({ source: "golden", copied_bytes: 120_000_000, total_bytes: 120_000_000 });
    // 120 MB "copied", yet the filesystem lost only metadata's worth of space.
    expect(freeBefore - (await freeBytes(mount.dir))).toBeLessThan(8_000_000);
    expect(await manifest(session.docker_dir)).toEqual(
      await manifest(path.join(sandbox.root, "goldens", "p1", "generations", "b1", "docker")),
    );
  });

  it("keeps a spare copy ready for the next session, at the cost of metadata only", async (context) => {
    if (!mount) return context.skip(skip ?? "");
    const withSpares = await createTestSandbox({ root: path.join(mount.dir, "root-with-spares"), spareCopies: 1 });
    try {
      await withSpares.startBuild({
        build_id: "b1",
        project_id: "p1",
        startup_script: 'head -c 80000000 /dev/urandom > "$HELIX_DOCKER_DATA_ROOT/blob"',
      });
      expect((await withSpares.waitForBuild("b1")).status).toBe("succeeded");
      await withSpares.services.spares.settled();
      expect(await listDir(path.join(withSpares.root, "goldens", "p1", "spares"))).toHaveLength(1);
      const freeBefore = await freeBytes(mount.dir);
      const session = await (
        await withSpares.request("POST", "/v1/sessions", { session_id: "s1", project_id: "p1" })
      ).json();
      await withSpares.services.spares.settled();
      expect(session).toMatchObject({ source: "golden", golden_build_id: "b1" });
      // The session and the spare made after it share the golden's blocks.
      expect(freeBefore - (await freeBytes(mount.dir))).toBeLessThan(4_000_000);
      expect(await manifest(session.docker_dir)).toEqual(
        await manifest(path.join(withSpares.root, "goldens", "p1", "generations", "b1", "docker")),
      );
    } finally {
      await withSpares.close();
    }
  });
});
