import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { formatDuration } from "@prewarm/service-kit/duration";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createRepository, createTestSandbox, listDir, manifest, type TestSandbox } from "./helpers.ts";

let sandbox: TestSandbox;

beforeEach(async () => {
  sandbox = await createTestSandbox();
});
afterEach(async () => {
  await sandbox.close();
});

const writeLayer = (name: string, kb: number) =>
  `dd if=/dev/urandom of="$HELIX_DOCKER_DATA_ROOT/${name}" bs=1024 count=${kb} status=none`;

async function goldenManifest(projectId: string) {
  const info = await (await sandbox.request("GET", `/v1/goldens/${projectId}`)).json();
  if (!info.exists) return null;
  return manifest(path.join(sandbox.root, "goldens", projectId, "generations", info.build_id, "docker"));
}

describe("a golden build", () => {
  it("runs the startup script on the default branch with the Docker directory in its environment, then promotes", async () => {
    const repo = await createRepository({ "compose.yaml": "services: {}\n" });
    const script = [
      "set -e",
      'test "$HELIX_GOLDEN_BUILD" = true',
      "test -f compose.yaml",
      "test ! -e FEATURE_ONLY",
      `echo "docker dir: $HELIX_DOCKER_DATA_ROOT"`,
      writeLayer("layer-a", 300),
      'mkdir -p "$HELIX_DOCKER_DATA_ROOT/volumes/registry"',
      'echo data > "$HELIX_DOCKER_DATA_ROOT/volumes/registry/blob"',
    ].join("\n");
    await sandbox.startBuild({ build_id: "b1", project_id: "p1", repository_url: repo, startup_script: script });
    const build = await sandbox.waitForBuild("b1");

    expect(build).toMatchObject({ status: "succeeded", exit_code: 0, error: null, size_bytes: 300 * 1024 + 5 });
    const golden = await (await sandbox.request("GET", "/v1/goldens/p1")).json();
    expect(golden).toMatchObject({ exists: true, build_id: "b1", size_bytes: 300 * 1024 + 5 });
    const files = await goldenManifest("p1");
    expect(Object.keys(files ?? {}).sort()).toEqual([
      "layer-a",
      "volumes",
      "volumes/registry",
      "volumes/registry/blob",
    ]);
    // The work directory is gone; the log is kept and names the build's own Docker directory.
    expect(await listDir(path.join(sandbox.root, "builds"))).toEqual([]);
    const log = await readFile(path.join(sandbox.root, "build-records", "b1.log"), "utf8");
    expect(log).toContain(`docker dir: ${path.join(sandbox.root, "builds", "b1", "generation", "docker")}`);
  });

  it("starts from a copy of the previous golden and replaces it on success", async () => {
    await sandbox.startBuild({ build_id: "b1", project_id: "p1", startup_script: writeLayer("base", 64) });
    await sandbox.waitForBuild("b1");
    const first = await goldenManifest("p1");

    const script = ['test -f "$HELIX_DOCKER_DATA_ROOT/base"', writeLayer("app", 32)].join(" && ");
    await sandbox.startBuild({ build_id: "b2", project_id: "p1", startup_script: script });
    const second = await sandbox.waitForBuild("b2");

    expect(second.status).toBe("succeeded");
    const files = await goldenManifest("p1");
    expect(files?.base).toBe(first?.base);
    expect(files?.app).toBeDefined();
    // Only the new generation is left.
    expect(await listDir(path.join(sandbox.root, "goldens", "p1", "generations"))).toEqual(["b2"]);
  });

  it("keeps the previous golden untouched when the script fails, and says why", async () => {
    await sandbox.startBuild({ build_id: "b1", project_id: "p1", startup_script: writeLayer("base", 64) });
    await sandbox.waitForBuild("b1");
    const before = await goldenManifest("p1");

    const script = [
      writeLayer("half-built", 64),
      'rm "$HELIX_DOCKER_DATA_ROOT/base"',
      "echo broken >&2",
      "exit 3",
    ].join("\n");
    await sandbox.startBuild({ build_id: "b2", project_id: "p1", startup_script: script });
    const failed = await sandbox.waitForBuild("b2");

    expect(failed).toMatchObject({ status: "failed", exit_code: 3, error: "Startup script exited with code 3" });
    expect(await goldenManifest("p1")).toEqual(before);
    expect(await listDir(path.join(sandbox.root, "builds"))).toEqual([]);
    const log = await (await sandbox.request("GET", "/v1/builds/b2/log")).text();
    expect(log).toContain("broken");
  });

  it("fails with a clear error when the branch cannot be checked out", async () => {
    const repo = await createRepository({ "README.md": "x" });
    await sandbox.startBuild({
      build_id: "b1",
      project_id: "p1",
      repository_url: repo,
      branch: "nope",
      startup_script: "true",
    });
    const build = await sandbox.waitForBuild("b1");
    expect(build.status).toBe("failed");
    expect(build.error).toMatch(/Could not check out branch nope/);
    expect((await (await sandbox.request("GET", "/v1/goldens/p1")).json()).exists).toBe(false);
  });

  it("runs one build at a time per project", async () => {
    await sandbox.startBuild({ build_id: "b1", project_id: "p1", startup_script: "sleep 30" });
    const second = await sandbox.request("POST", "/v1/builds", {
      build_id: "b2",
      project_id: "p1",
      startup_script: "true",
    });
    expect(second.status).toBe(409);
    expect((await second.json()).code).toBe("build_running");
    // Another project is not held up.
    const other = await sandbox.request("POST", "/v1/builds", {
      build_id: "b3",
      project_id: "p2",
      startup_script: "true",
    });
    expect(other.status).toBe(202);
    await sandbox.request("POST", "/v1/builds/b1/stop");
  });

  it("forgets an ended build and its log on request, but not a running one", async () => {
    await sandbox.startBuild({ build_id: "b1", project_id: "p1", startup_script: "echo hi" });
    await sandbox.waitForBuild("b1");
    await sandbox.startBuild({ build_id: "b2", project_id: "p2", startup_script: "sleep 30" });
    expect((await sandbox.request("DELETE", "/v1/builds/b2")).status).toBe(409);
    expect((await sandbox.request("DELETE", "/v1/builds/b1")).status).toBe(204);
    expect((await sandbox.request("DELETE", "/v1/builds/b1")).status).toBe(204);
    expect((await sandbox.request("GET", "/v1/builds/b1")).status).toBe(404);
    expect((await sandbox.request("GET", "/v1/builds/b1/log")).status).toBe(404);
    await sandbox.request("POST", "/v1/builds/b2/stop");
  });

  it("refuses a build ID that was used before", async () => {
    await sandbox.startBuild({ build_id: "b1", project_id: "p1", startup_script: "true" });
    await sandbox.waitForBuild("b1");
    const again = await sandbox.request("POST", "/v1/builds", {
      build_id: "b1",
      project_id: "p1",
      startup_script: "true",
    });
    expect(again.status).toBe(409);
    expect((await again.json()).code).toBe("build_exists");
  });
});

describe("stopping a build", () => {
  it("ends the script and everything it started, discards its output and keeps the golden", async () => {
    await sandbox.startBuild({ build_id: "b1", project_id: "p1", startup_script: writeLayer("base", 16) });
    await sandbox.waitForBuild("b1");
    const before = await goldenManifest("p1");
    // The script's processes have PIDs of their own jail: they are found on the host by a
    // duration no other process here sleeps for.
    const script = [writeLayer("partial", 16), "(trap '' TERM; sleep 300.101) &", "echo started", "sleep 300"].join(
      "\n",
    );
    await sandbox.startBuild({ build_id: "b2", project_id: "p1", startup_script: script });
    await expect.poll(() => processesRunning("300.101"), { timeout: 10_000 }).toBe(1);

    const res = await sandbox.request("POST", "/v1/builds/b2/stop");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "stopped", error: null });
    // The background child ignored SIGTERM; it was still ended.
    expect(await processesRunning("300.101")).toBe(0);
    expect(await goldenManifest("p1")).toEqual(before);
    expect(await listDir(path.join(sandbox.root, "builds"))).toEqual([]);
  });

  it("also ends processes that left the script's process group", async () => {
    const script = ["setsid bash -c 'exec sleep 300.202' &", "sleep 300"].join("\n");
    await sandbox.startBuild({ build_id: "b1", project_id: "p1", startup_script: script });
    await expect.poll(() => processesRunning("300.202"), { timeout: 10_000 }).toBe(1);
    await sandbox.request("POST", "/v1/builds/b1/stop");
    await expect.poll(() => processesRunning("300.202")).toBe(0);
  });

  it("refuses to start a build that was stopped before it arrived", async () => {
    const stop = await sandbox.request("POST", "/v1/builds/b1/stop", { project_id: "p1" });
    expect(stop.status).toBe(200);
    expect(await stop.json()).toMatchObject({
      status: "stopped",
      project_id: "p1",
      error: "Stopped before it started",
    });
    const start = await sandbox.request("POST", "/v1/builds", {
      build_id: "b1",
      project_id: "p1",
      startup_script: "true",
    });
    expect(start.status).toBe(409);
    expect((await start.json()).code).toBe("build_exists");
    // Without a project, a build never seen is simply not found.
    expect((await sandbox.request("POST", "/v1/builds/b2/stop")).status).toBe(404);
  });

  it("answers the final state when the build has already ended", async () => {
    await sandbox.startBuild({ build_id: "b1", project_id: "p1", startup_script: "exit 1" });
    await sandbox.waitForBuild("b1");
    const res = await sandbox.request("POST", "/v1/builds/b1/stop");
    expect(await res.json()).toMatchObject({ status: "failed" });
  });

  it("says a timeout in the units it was set in", () => {
    expect(formatDuration(1800)).toBe("30m");
    expect(formatDuration(7200)).toBe("2h");
    expect(formatDuration(90)).toBe("90s");
  });

  it("times out a build that runs too long", async () => {
    await sandbox.startBuild({ build_id: "b1", project_id: "p1", startup_script: "sleep 30", timeout_seconds: 1 });
    const build = await sandbox.waitForBuild("b1");
    expect(build).toMatchObject({ status: "failed", error: "Build timed out after 1s" });
  });
});

describe("a build's log", () => {
  it("replays from the start and follows new output until the build ends", async () => {
    const gate = path.join(sandbox.root, "gate");
    const script = [
      "printf '\\033[32mfirst\\033[0m\\n'",
      `while [ ! -e ${gate} ]; do sleep 0.05; done`,
      "echo second",
    ].join("\n");
    await sandbox.startBuild({ build_id: "b1", project_id: "p1", startup_script: script });
    const res = await sandbox.request("GET", "/v1/builds/b1/log?follow=true");
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes("first")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    expect(text).toContain("\x1b[32mfirst\x1b[0m");
    expect(text).not.toContain("second");
    const { writeFile } = await import("node:fs/promises");
    await writeFile(gate, "");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    expect(text).toContain("second");
    expect(text).toContain("Promoted");
  });

  it("is a 404 for an unknown build", async () => {
    const res = await sandbox.request("GET", "/v1/builds/nope/log");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
  });
});

/** Running, as opposed to gone or a zombie waiting for a parent that may never reap it. */
/** How many processes on the host run `sleep <seconds>`. */
async function processesRunning(seconds: string): Promise<number> {
  let count = 0;
  for (const entry of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (cmdline === `sleep\0${seconds}\0`) count++;
  }
  return count;
}
