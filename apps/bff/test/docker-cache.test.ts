// The Docker cache story through the BFF's HTTP API, with the sandbox played by the mock.
import { loadContract } from "@prewarm/api-types/contract";
import { mockDockerAvailability, mockDockerEngine } from "@prewarm/mock-sandbox/model";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { describe, expect, it } from "vitest";
import { script, useMockSandbox, useTestBff } from "./helpers.ts";

const sandbox = useMockSandbox();
const contract = loadContract("bff");
const bff = useTestBff();

async function project(id: string) {
  const res = await bff.request("GET", `/api/v1/projects/${id}`);
  expect(res.status).toBe(200);
  const body = await res.json();
  expect(contract.validateSchema("Project", body)).toEqual({ ok: true, value: body });
  return body;
}

const cacheState = async (id: string) => (await project(id)).metadata.docker_cache_state;

async function enable(id: string) {
  const res = await bff.request("PATCH", `/api/v1/projects/${id}`, { metadata: { auto_warm_docker_cache: true } });
  expect(res.status).toBe(200);
  return res.json();
}

async function readyProject() {
  const { id } = await bff.newProject();
  await enable(id);
  const build = sandbox.latestBuild(id);
  sandbox.finishBuild(build?.build_id ?? "", { sizeBytes: 8_700_000_000 });
  await expect.poll(async () => (await cacheState(id)).status).toBe("ready");
  return id;
}

describe("turning Pre-warm Docker cache on", () => {
  it("saves the setting and starts a build of the default branch at once", async () => {
    const { id } = await bff.newProject();
    const body = await enable(id);
    expect(body.build_started).toBe(true);
    expect(body.project.metadata.auto_warm_docker_cache).toBe(true);
    expect(body.project.metadata.docker_cache_state).toMatchObject({ status: "building", error: null });

    const build = sandbox.latestBuild(id);
    expect(build?.build_id).toBe(body.project.metadata.docker_cache_state.build_id);
    expect(sandbox.buildRequest(build?.build_id ?? "")).toMatchObject({
      project_id: id,
      repository_url: "https://git.example/shop.git",
      branch: "main",
      startup_script: script,
      timeout_seconds: 1800,
    });
  });

  it("reaches ready with the golden's size when the build succeeds", async () => {
    const { id } = await bff.newProject();
    await enable(id);
    sandbox.finishBuild(sandbox.latestBuild(id)?.build_id ?? "", { sizeBytes: 312_000_000 });
    await expect.poll(async () => (await cacheState(id)).status).toBe("ready");
    const state = await cacheState(id);
    expect(state.size_bytes).toBe(312_000_000);
    expect(state.last_ready_at).not.toBeNull();
  });

  it("records which Docker daemon each build had, or that it had none", async () => {
    const { id } = await bff.newProject();
    await enable(id);
    sandbox.finishBuild(sandbox.latestBuild(id)?.build_id ?? "");
    await expect.poll(async () => (await cacheState(id)).status).toBe("ready");
    // The sandbox loses its engine: the next build runs its script without a daemon.
    sandbox.docker = { ...mockDockerAvailability, available: false, detail: "this sandbox has no Docker engine" };
    await bff.request("POST", `/api/v1/projects/${id}/docker-cache/builds`, { trigger: "manual" });
    sandbox.finishBuild(sandbox.latestBuild(id)?.build_id ?? "");
    await expect.poll(async () => (await cacheState(id)).status).toBe("ready");
    // Its operator allows root daemons where rootless ones cannot run: the next build has one.
    sandbox.docker = { ...mockDockerAvailability, rootless: false };
    await bff.request("POST", `/api/v1/projects/${id}/docker-cache/builds`, { trigger: "manual" });
    sandbox.finishBuild(sandbox.latestBuild(id)?.build_id ?? "");
    await expect.poll(async () => (await cacheState(id)).status).toBe("ready");
    const { builds } = await (await bff.request("GET", `/api/v1/projects/${id}/docker-cache/builds`)).json();
    expect(builds.map((build: { docker_engine: unknown }) => build.docker_engine)).toEqual([
      { ...mockDockerEngine, rootless: false },
      null,
      { ...mockDockerEngine, rootless: true },
    ]);
  });

  it("says a build recorded before daemons were rootless had a root daemon", async () => {
    const { id } = await bff.newProject();
    await enable(id);
    const buildId = sandbox.latestBuild(id)?.build_id ?? "";
    sandbox.finishBuild(buildId);
    await expect.poll(async () => (await cacheState(id)).status).toBe("ready");
    // What a build recorded by an earlier release holds.
    await bff.sql.query("UPDATE builds SET docker_rootless = NULL WHERE id = $1", [buildId]);
    const res = await bff.request("GET", `/api/v1/projects/${id}/docker-cache/builds/${buildId}`);
    const build = await res.json();
    expect(contract.validateSchema("Build", build)).toEqual({ ok: true, value: build });
    expect(build.docker_engine).toEqual({ ...mockDockerEngine, rootless: false });
  });

  it("does not start a second build when turned on again", async () => {
    const { id } = await bff.newProject();
    await enable(id);
    const again = await enable(id);
    expect(again.build_started).toBe(false);
    expect(sandbox.allBuilds().filter((b) => b.project_id === id)).toHaveLength(1);
  });

  it("is refused without a startup script, with the reason", async () => {
    const { id } = await bff.newProject({ startup_script: "" });
    const res = await bff.request("PATCH", `/api/v1/projects/${id}`, { metadata: { auto_warm_docker_cache: true } });
    expect(res.status).toBe(422);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await res.json()).toMatchObject({
      code: "startup_script_required",
      detail: "Add a startup script first — builds and test sessions run it.",
    });
    expect((await project(id)).metadata.auto_warm_docker_cache).toBe(false);
    expect(sandbox.latestBuild(id)).toBeNull();
  });
});

describe("settings updates", () => {
  it("never write the cache state, and keep the setting when they leave it out", async () => {
    const id = await readyProject();
    const before = await cacheState(id);
    const forged = await bff.request("PATCH", `/api/v1/projects/${id}`, {
      metadata: { docker_cache_state: { status: "none" } },
    });
    expect(forged.status).toBe(400);
    expect((await forged.json()).errors).toEqual([
      { path: "/metadata/docker_cache_state", message: "is not a known field" },
    ]);
    const scriptOnly = await bff.request("PATCH", `/api/v1/projects/${id}`, { startup_script: "make images" });
    expect(scriptOnly.status).toBe(200);
    const after = await project(id);
    expect(after.startup_script).toBe("make images");
    expect(after.metadata.auto_warm_docker_cache).toBe(true);
    expect(after.metadata.docker_cache_state).toEqual(before);
  });

  it("turning the setting off keeps the cache", async () => {
    const id = await readyProject();
    const res = await bff.request("PATCH", `/api/v1/projects/${id}`, { metadata: { auto_warm_docker_cache: false } });
    const body = await res.json();
    expect(body.build_started).toBe(false);
    expect(body.project.metadata.docker_cache_state).toMatchObject({ status: "ready", size_bytes: 8_700_000_000 });
    expect(sandbox.getGolden(id).exists).toBe(true);
  });

  it.each([
    ["malformed JSON", "{", 400, "malformed_request"],
    ["an empty update", {}, 400, "invalid_request"],
    ["a wrong type", { startup_script: 5 }, 400, "invalid_request"],
    ["an unknown field", { name: "x" }, 400, "invalid_request"],
    ["an oversized script", { startup_script: "x".repeat(70_000) }, 400, "invalid_request"],
  ])("rejects %s with a problem and changes nothing", async (_, body, status, code) => {
    const { id } = await bff.newProject();
    const before = await project(id);
    const res = await bff.request("PATCH", `/api/v1/projects/${id}`, body);
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect((await res.json()).code).toBe(code);
    expect(await project(id)).toEqual(before);
  });

  it("answers 404 for a project that does not exist and 400 for an ID that cannot be one", async () => {
    expect((await bff.request("GET", "/api/v1/projects/prj_missing")).status).toBe(404);
    const hostile = await bff.request("GET", "/api/v1/projects/..%2F..%2Fetc");
    expect(hostile.status).toBe(400);
    expect((await hostile.json()).code).toBe("invalid_id");
  });
});

describe("a failed build", () => {
  it("shows the error, keeps its log readable, and Retry starts a new build", async () => {
    const { id } = await bff.newProject();
    await enable(id);
    const first = sandbox.latestBuild(id)?.build_id ?? "";
    sandbox.emitLog(first, "\x1b[31mERROR: image web failed\x1b[0m\n");
    sandbox.finishBuild(first, { exitCode: 2 });
    await expect.poll(async () => (await cacheState(id)).status).toBe("failed");
    expect((await cacheState(id)).error).toBe("Startup script exited with code 2");

    const log = await bff.request("GET", `/api/v1/projects/${id}/docker-cache/builds/${first}/log`);
    expect(log.status).toBe(200);
    expect(await log.text()).toBe("\x1b[31mERROR: image web failed\x1b[0m\n");

    const retry = await bff.request("POST", `/api/v1/projects/${id}/docker-cache/builds`, { trigger: "retry" });
    expect(retry.status).toBe(202);
    const body = await retry.json();
    expect(body.build).toMatchObject({ trigger: "retry", status: "running" });
    expect(body.project.metadata.docker_cache_state).toMatchObject({ status: "building", error: null });
    expect(sandbox.latestBuild(id)?.build_id).toBe(body.build.id);
    expect(body.build.id).not.toBe(first);
  });

  it("keeps the golden that still serves sessions beside the failure", async () => {
    const id = await readyProject();
    await bff.request("POST", `/api/v1/projects/${id}/docker-cache/builds`);
    sandbox.finishBuild(sandbox.latestBuild(id)?.build_id ?? "", { exitCode: 1 });
    await expect.poll(async () => (await cacheState(id)).status).toBe("failed");
    expect(await cacheState(id)).toMatchObject({ size_bytes: 8_700_000_000 });
    expect((await cacheState(id)).last_ready_at).not.toBeNull();
  });

  it("a manual build while one runs is queued, and starts when the running one ends", async () => {
    const { id } = await bff.newProject();
    await enable(id);
    const first = sandbox.latestBuild(id)?.build_id ?? "";
    const res = await bff.request("POST", `/api/v1/projects/${id}/docker-cache/builds`);
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body).toMatchObject({ build: null, queued: true });
    expect(body.project.metadata.docker_cache_state.queued).toMatchObject({ trigger: "manual" });
    sandbox.finishBuild(first, { exitCode: 1 });
    await expect.poll(() => sandbox.latestBuild(id)?.build_id).not.toBe(first);
    expect(sandbox.latestBuild(id)?.status).toBe("running");
    await expect.poll(async () => (await cacheState(id)).build_id).toBe(sandbox.latestBuild(id)?.build_id);
    expect(await cacheState(id)).toMatchObject({ status: "building", queued: null });
  });
});

describe("stopping a build", () => {
  it("returns to none when there was no golden", async () => {
    const { id } = await bff.newProject();
    await enable(id);
    const res = await bff.request("POST", `/api/v1/projects/${id}/docker-cache/stop`);
    expect(res.status).toBe(200);
    expect((await res.json()).metadata.docker_cache_state).toMatchObject({ status: "none", error: null });
    expect(sandbox.latestBuild(id)?.status).toBe("stopped");
  });

  it("returns to ready with the golden's size when one exists", async () => {
    const id = await readyProject();
    await bff.request("POST", `/api/v1/projects/${id}/docker-cache/builds`);
    const res = await bff.request("POST", `/api/v1/projects/${id}/docker-cache/stop`);
    expect((await res.json()).metadata.docker_cache_state).toMatchObject({
      status: "ready",
      size_bytes: 8_700_000_000,
    });
  });

  it("is a conflict when nothing is running", async () => {
    const { id } = await bff.newProject();
    const res = await bff.request("POST", `/api/v1/projects/${id}/docker-cache/stop`);
    expect(res.status).toBe(409);
    expect((await res.json()).code).toBe("no_build_running");
  });
});

describe("deleting the cache", () => {
  it("deletes the golden on the sandbox and sets the state to none", async () => {
    const id = await readyProject();
    const res = await bff.request("DELETE", `/api/v1/projects/${id}/docker-cache`);
    expect(res.status).toBe(200);
    expect((await res.json()).metadata.docker_cache_state).toMatchObject({
      status: "none",
      size_bytes: 0,
      last_ready_at: null,
    });
    expect(sandbox.getGolden(id).exists).toBe(false);
  });

  it("is refused while a build runs, and changes nothing", async () => {
    const { id } = await bff.newProject();
    await enable(id);
    const res = await bff.request("DELETE", `/api/v1/projects/${id}/docker-cache`);
    expect(res.status).toBe(409);
    expect((await cacheState(id)).status).toBe("building");
  });

  it("deletes it on a sandbox that cannot be reached once it can, and until then sends it nothing of the project", async () => {
    const id = await readyProject();
    sandbox.online = false;
    const res = await bff.request("DELETE", `/api/v1/projects/${id}/docker-cache`);
    expect(res.status).toBe(200);
    expect((await cacheState(id)).status).toBe("none");
    sandbox.online = true;
    expect(sandbox.getGolden(id).exists).toBe(true);
    // A build waits for the deletion: it must not start from the deleted golden.
    sandbox.online = false;
    const started = await bff.request("POST", `/api/v1/projects/${id}/docker-cache/builds`, { trigger: "manual" });
    expect(started.status).toBe(202);
    sandbox.online = true;
    expect(sandbox.latestBuild(id)?.status).not.toBe("running");
    await bff.services.monitor.reconcile();
    expect(sandbox.getGolden(id).exists).toBe(false);
  });
});

describe("main changed", () => {
  it("only records the commit while the setting is off", async () => {
    const { id } = await bff.newProject();
    const res = await bff.request("POST", `/api/v1/projects/${id}/main-changed`, { commit_sha: "abc1234" });
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body.action).toBe("recorded");
    expect(body.project.main_commit).toBe("abc1234");
    expect(sandbox.latestBuild(id)).toBeNull();
  });

  it("starts a build of the new commit while the setting is on", async () => {
    const id = await readyProject();
    const res = await bff.request("POST", `/api/v1/projects/${id}/main-changed`, { commit_sha: "def5678" });
    expect((await res.json()).action).toBe("build_started");
    expect(sandbox.latestBuild(id)?.status).toBe("running");
    expect((await cacheState(id)).status).toBe("building");
  });

  it("queues a build of the new commit behind the running one, instead of starting a second", async () => {
    const { id } = await bff.newProject();
    await enable(id);
    const res = await bff.request("POST", `/api/v1/projects/${id}/main-changed`, { commit_sha: "def5678" });
    const body = await res.json();
    expect(body.action).toBe("queued");
    expect(body.project.metadata.docker_cache_state.queued).toMatchObject({ trigger: "merge", commit_sha: "def5678" });
    expect(sandbox.allBuilds().filter((b) => b.project_id === id)).toHaveLength(1);
  });

  it("records the same commit once, so one merge told twice builds once", async () => {
    const id = await readyProject();
    await bff.request("POST", `/api/v1/projects/${id}/main-changed`, { commit_sha: "def5678" });
    const again = await bff.request("POST", `/api/v1/projects/${id}/main-changed`, { commit_sha: "def5678" });
    expect((await again.json()).action).toBe("recorded");
    expect(await cacheState(id)).toMatchObject({ status: "building", queued: null });
  });

  it("rejects something that is not a commit", async () => {
    const { id } = await bff.newProject();
    const res = await bff.request("POST", `/api/v1/projects/${id}/main-changed`, { commit_sha: "main; rm -rf /" });
    expect(res.status).toBe(400);
  });
});

describe("the build log", () => {
  it("follows a running build's output from the start until it ends", async () => {
    const { id } = await bff.newProject();
    await enable(id);
    const buildId = sandbox.latestBuild(id)?.build_id ?? "";
    sandbox.emitLog(buildId, "step 1\n");
    const res = await bff.request("GET", `/api/v1/projects/${id}/docker-cache/builds/${buildId}/log?follow=true`);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = decoder.decode((await reader.read()).value);
    expect(text).toBe("step 1\n");
    sandbox.emitLog(buildId, "step 2\n");
    sandbox.finishBuild(buildId);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    expect(text).toBe("step 1\nstep 2\n");
  });

  it("is a 404 for a build of another project", async () => {
    const { id: a } = await bff.newProject();
    const { id: b } = await bff.newProject();
    await enable(a);
    const buildId = sandbox.latestBuild(a)?.build_id ?? "";
    const res = await bff.request("GET", `/api/v1/projects/${b}/docker-cache/builds/${buildId}/log`);
    expect(res.status).toBe(404);
  });
});

describe("the project's event stream", () => {
  it("sends the project now, then after every change", async () => {
    const { id } = await bff.newProject();
    const res = await bff.request("GET", `/api/v1/projects/${id}/events`);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events: EventSourceMessage[] = [];
    const sandboxEvents: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (e) => (e.event === "project" ? events : sandboxEvents).push(e) });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const next = async () => {
      const count = events.length;
      while (events.length === count) parser.feed(decoder.decode((await reader.read()).value));
      return JSON.parse(events[events.length - 1]?.data ?? "null");
    };
    expect((await next()).metadata.docker_cache_state.status).toBe("none");
    await enable(id);
    let latest = await next();
    while (latest.metadata.docker_cache_state.status !== "building") latest = await next();
    sandbox.finishBuild(sandbox.latestBuild(id)?.build_id ?? "", { sizeBytes: 10 });
    while (latest.metadata.docker_cache_state.status !== "ready") latest = await next();
    expect(latest.metadata.docker_cache_state.size_bytes).toBe(10);
    // The stream also said, from its start, whether the sandbox can be reached.
    expect(JSON.parse(sandboxEvents[0]?.data ?? "null")).toMatchObject({ reachable: true });
    await reader.cancel();
  });
});
