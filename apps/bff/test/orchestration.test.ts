// Orchestration through the BFF's API: bursts of triggers, the queued follow-up, stop, pause and
// resume, history, staleness, timeouts and evictions, with the sandbox played by the mock.
import { describe, expect, it } from "vitest";
import { useMockSandbox, useTestBff } from "./helpers.ts";

const sandbox = useMockSandbox();
const bff = useTestBff();

const state = async (id: string) =>
  (await (await bff.request("GET", `/api/v1/projects/${id}`)).json()).metadata.docker_cache_state;
const builds = (id: string) => sandbox.allBuilds().filter((b) => b.project_id === id);
const enable = (id: string) =>
  bff.request("PATCH", `/api/v1/projects/${id}`, { metadata: { auto_warm_docker_cache: true } });
const finishLatest = (id: string, options = {}) =>
  sandbox.finishBuild(sandbox.latestBuild(id)?.build_id ?? "", options);

describe("a burst of triggers during a build", () => {
  it("200 merges and 50 retries leave exactly one build running and one queued", async () => {
    const { id } = await bff.newProject();
    await enable(id);
    const running = sandbox.latestBuild(id)?.build_id;
    const merges = Array.from({ length: 200 }, (_, i) =>
      bff.request("POST", `/api/v1/projects/${id}/main-changed`, { commit_sha: (0x1000000 + i).toString(16) }),
    );
    const retries = Array.from({ length: 50 }, () =>
      bff.request("POST", `/api/v1/projects/${id}/docker-cache/builds`, { trigger: "retry" }),
    );
    const answers = await Promise.all([...merges, ...retries]);
    expect(answers.every((res) => res.status === 202)).toBe(true);
    expect(builds(id)).toHaveLength(1);
    expect(builds(id)[0]?.build_id).toBe(running);
    const queued = (await state(id)).queued;
    expect(queued).not.toBeNull();

    // When the running build ends, exactly the one queued build follows.
    finishLatest(id);
    await expect.poll(() => builds(id).length).toBe(2);
    await expect.poll(async () => (await state(id)).queued).toBeNull();
    expect(builds(id).filter((b) => b.status === "running")).toHaveLength(1);
    expect((await state(id)).status).toBe("building");
  });

  it("turning the setting on during a build queues instead of starting a second", async () => {
    const { id } = await bff.newProject();
    await bff.request("POST", `/api/v1/projects/${id}/docker-cache/builds`, { trigger: "manual" });
    const res = await enable(id);
    expect(await res.json()).toMatchObject({ build_started: false, build_queued: true });
    expect(builds(id)).toHaveLength(1);
  });
});

describe("stop", () => {
  it("records the build as stopped and drops the queued follow-up", async () => {
    const { id } = await bff.newProject();
    await enable(id);
    const first = sandbox.latestBuild(id)?.build_id ?? "";
    await bff.request("POST", `/api/v1/projects/${id}/main-changed`, { commit_sha: "abcdef1" });
    const res = await bff.request("POST", `/api/v1/projects/${id}/docker-cache/stop`);
    expect((await res.json()).metadata.docker_cache_state).toMatchObject({ status: "none", queued: null });
    expect(builds(id)).toHaveLength(1);
    const build = await (await bff.request("GET", `/api/v1/projects/${id}/docker-cache/builds/${first}`)).json();
    expect(build).toMatchObject({ id: first, status: "stopped", trigger: "enable" });
  });
});

describe("auto-pause", () => {
  it("pauses merge builds after three failures in a row; Resume continues them", async () => {
    const { id } = await bff.newProject();
    await enable(id);
    for (let i = 0; i < 3; i++) {
      finishLatest(id, { exitCode: 1 });
      await expect.poll(async () => (await state(id)).status).toBe("failed");
      if (i < 2) await bff.request("POST", `/api/v1/projects/${id}/main-changed`, { commit_sha: `abc${i}def` });
    }
    expect(await state(id)).toMatchObject({ paused: true, consecutive_failures: 3 });
    const paused = await bff.request("POST", `/api/v1/projects/${id}/main-changed`, { commit_sha: "fedcba9" });
    expect((await paused.json()).action).toBe("paused");
    expect(builds(id)).toHaveLength(3);

    const resumed = await bff.request("POST", `/api/v1/projects/${id}/docker-cache/resume`);
    expect((await resumed.json()).metadata.docker_cache_state).toMatchObject({
      paused: false,
      consecutive_failures: 0,
    });
    const merged = await bff.request("POST", `/api/v1/projects/${id}/main-changed`, { commit_sha: "fedcba8" });
    expect((await merged.json()).action).toBe("build_started");
  });

  it("Retry resumes too", async () => {
    const { id } = await bff.newProject();
    await bff.request("PATCH", `/api/v1/projects/${id}`, {
      metadata: { auto_warm_docker_cache: true, docker_cache_pause_after_failures: 1 },
    });
    finishLatest(id, { exitCode: 1 });
    await expect.poll(async () => (await state(id)).paused).toBe(true);
    await bff.request("POST", `/api/v1/projects/${id}/docker-cache/builds`, { trigger: "retry" });
    expect(await state(id)).toMatchObject({ paused: false, status: "building" });
  });
});

describe("history and staleness", () => {
  it("keeps every build with its trigger, commit, times, size and outcome, newest first", async () => {
    const { id } = await bff.newProject();
    await bff.request("POST", `/api/v1/projects/${id}/main-changed`, { commit_sha: "1111111" });
    await enable(id);
    finishLatest(id, { sizeBytes: 1000 });
    await expect.poll(async () => (await state(id)).status).toBe("ready");
    await bff.request("POST", `/api/v1/projects/${id}/main-changed`, { commit_sha: "2222222" });
    await bff.request("POST", `/api/v1/projects/${id}/main-changed`, { commit_sha: "3333333" });
    expect(await state(id)).toMatchObject({ golden_commit: "1111111", merges_behind: 2 });

    const list = await (await bff.request("GET", `/api/v1/projects/${id}/docker-cache/builds`)).json();
    expect(list.builds.map((b: { trigger: string }) => b.trigger)).toEqual(["merge", "enable"]);
    expect(list.builds[1]).toMatchObject({ status: "succeeded", commit_sha: "1111111", size_bytes: 1000 });
    expect(list.builds[1].duration_seconds).toBeGreaterThanOrEqual(0);
    expect(list.builds[0]).toMatchObject({ status: "running", commit_sha: "2222222", finished_at: null });
  });

  it("keeps the last 20 builds of a project, on the sandbox too", async () => {
    const { id } = await bff.newProject();
    for (let i = 0; i < 22; i++) {
      await bff.request("POST", `/api/v1/projects/${id}/docker-cache/builds`, { trigger: "manual" });
      finishLatest(id, { exitCode: 1 });
      await expect.poll(async () => (await state(id)).status).toBe("failed");
    }
    const list = await (await bff.request("GET", `/api/v1/projects/${id}/docker-cache/builds`)).json();
    expect(list.builds).toHaveLength(20);
    await expect.poll(() => builds(id).length).toBe(20);
  });
});

describe("settings of the orchestration", () => {
  it("sends each build with the project's timeout", async () => {
    const { id } = await bff.newProject();
    await bff.request("PATCH", `/api/v1/projects/${id}`, { metadata: { docker_cache_build_timeout_seconds: 600 } });
    await enable(id);
    expect(sandbox.buildRequest(sandbox.latestBuild(id)?.build_id ?? "")?.timeout_seconds).toBe(600);
  });

  it("refuses a timeout out of range", async () => {
    const { id } = await bff.newProject();
    const res = await bff.request("PATCH", `/api/v1/projects/${id}`, {
      metadata: { docker_cache_build_timeout_seconds: 5 },
    });
    expect(res.status).toBe(400);
  });
});

describe("eviction", () => {
  it("tells the project its golden was evicted to free disk space", async () => {
    const { id } = await bff.newProject();
    await enable(id);
    finishLatest(id, { sizeBytes: 5000 });
    await expect.poll(async () => (await state(id)).status).toBe("ready");
    sandbox.evictGolden(id);
    await expect.poll(async () => (await state(id)).status).toBe("none");
    const evicted = await state(id);
    expect(evicted).toMatchObject({ size_bytes: 0, last_ready_at: null });
    expect(evicted.evicted_at).not.toBeNull();
  });
});
