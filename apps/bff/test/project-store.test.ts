// The store's statements on both backends: every transition of the state machine, atomic
// under concurrency, and the same on PGlite and on a PostgreSQL server.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CacheTransitions, type Outcome } from "../src/store/cache-transitions.ts";
import { migrate } from "../src/store/migrate.ts";
import type { StoredBuild } from "../src/store/project-rows.ts";
import { ProjectStore } from "../src/store/project-store.ts";
import { storeBackends } from "./helpers.ts";

const noGolden = { exists: false, size_bytes: 0, built_at: null };
const outcome = (status: Outcome["status"], extra: Partial<Outcome> = {}): Outcome => ({
  status,
  finished_at: new Date().toISOString(),
  error: status === "failed" ? "Startup script exited with code 2" : null,
  size_bytes: status === "succeeded" ? 42 : null,
  ...extra,
});

for (const backend of storeBackends()) {
  describe.skipIf(backend.skip !== null)(`the project store on ${backend.name}`, () => {
    let store: ProjectStore;
    let transitions: CacheTransitions;
    let drop: () => Promise<void>;

    beforeEach(async () => {
      const opened = await backend.open();
      drop = opened.drop;
      await migrate(opened.sql);
      store = new ProjectStore(opened.sql, { buildTimeoutSeconds: 1800 });
      transitions = new CacheTransitions(opened.sql, store, store.defaults);
    });
    afterEach(async () => {
      await drop();
    });

    const newProject = (script = "docker compose build") =>
      store.createProject({ name: "Shop", repository_url: "https://git.example/shop.git", startup_script: script });

    async function started(projectId: string, trigger: "enable" | "merge" | "manual" | "retry" = "enable") {
      const result = await transitions.trigger(projectId, trigger, null);
      if (result.kind !== "started") throw new Error(`expected a start, got ${result.kind}`);
      return result.build;
    }

    const state = async (id: string) => (await store.getProject(id))?.metadata.docker_cache_state;

    it("creates, reads and lists projects with an empty cache state", async () => {
      const project = await newProject();
      expect(project.metadata).toMatchObject({
        auto_warm_docker_cache: false,
        docker_cache_build_timeout_seconds: 1800,
        docker_cache_pause_after_failures: 3,
        webhook_configured: false,
        docker_cache_state: {
          status: "none",
          size_bytes: 0,
          last_build_at: null,
          last_ready_at: null,
          build_id: null,
          error: null,
          queued: null,
          golden_commit: null,
          merges_behind: 0,
          consecutive_failures: 0,
          paused: false,
          evicted_at: null,
        },
      });
      expect(await store.getProject(project.id)).toEqual(project);
      expect((await store.listProjects()).map((p) => p.id)).toEqual([project.id]);
      expect(await store.getProject("missing")).toBeNull();
    });

    it("updates settings without touching the cache state, and keeps what an update leaves out", async () => {
      const project = await newProject();
      await transitions.settleBuild((await started(project.id)).id, outcome("succeeded"), noGolden);
      await store.updateSettings(project.id, { auto_warm_docker_cache: true, build_timeout_seconds: 600 });
      const scriptOnly = await store.updateSettings(project.id, { startup_script: "make images" });
      if (scriptOnly.kind !== "updated") throw new Error(scriptOnly.kind);
      expect(scriptOnly.project.startup_script).toBe("make images");
      expect(scriptOnly.project.metadata).toMatchObject({
        auto_warm_docker_cache: true,
        docker_cache_build_timeout_seconds: 600,
        docker_cache_state: { status: "ready", size_bytes: 42 },
      });
    });

    it("refuses to have the setting on without a startup script", async () => {
      const project = await newProject("   ");
      expect((await store.updateSettings(project.id, { auto_warm_docker_cache: true })).kind).toBe("script_required");
      const withScript = await newProject();
      await store.updateSettings(withScript.id, { auto_warm_docker_cache: true });
      expect((await store.updateSettings(withScript.id, { startup_script: "" })).kind).toBe("script_required");
      expect((await store.getProject(withScript.id))?.startup_script).toBe("docker compose build");
      expect((await store.updateSettings("missing", { startup_script: "x" })).kind).toBe("not_found");
    });

    it("reports the setting turned on to exactly one of 100 concurrent updates", async () => {
      const project = await newProject();
      const results = await Promise.all(
        Array.from({ length: 100 }, () => store.updateSettings(project.id, { auto_warm_docker_cache: true })),
      );
      expect(results.filter((r) => r.kind === "updated" && r.turnedOn)).toHaveLength(1);
    });

    it("starts exactly one of 100 concurrent triggers; the others queue one follow-up", async () => {
      const project = await newProject();
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) => transitions.trigger(project.id, i % 2 ? "merge" : "manual", null)),
      );
      expect(results.filter((r) => r.kind === "started")).toHaveLength(1);
      expect(results.filter((r) => r.kind === "queued")).toHaveLength(99);
      expect(await store.runningBuilds()).toHaveLength(1);
      const current = await state(project.id);
      expect(current?.status).toBe("building");
      expect(current?.queued).not.toBeNull();
    });

    it("starts or queues a trigger that races the running build's end, never refuses it", async () => {
      // The trigger waits for the settle's row lock, then must decide on the row as the settle
      // left it: a build ended meanwhile is no reason to refuse the next one.
      const project = await newProject();
      const refused: string[] = [];
      for (let i = 0; i < 60; i++) {
        const running = await started(project.id, "manual");
        const [, result] = await Promise.all([
          transitions.settleBuild(running.id, outcome("succeeded"), noGolden),
          transitions.trigger(project.id, "manual", null),
        ]);
        if (result.kind !== "started" && result.kind !== "queued") refused.push(result.kind);
        const current = await state(project.id);
        if (current?.status === "building" && current.build_id) {
          await transitions.dropQueue(project.id);
          await transitions.settleBuild(current.build_id, outcome("succeeded"), noGolden);
        }
      }
      expect(refused).toEqual([]);
    });

    it("lets the latest trigger win the queue", async () => {
      const project = await newProject();
      await started(project.id);
      await transitions.trigger(project.id, "merge", "aaaaaaa");
      await transitions.trigger(project.id, "merge", "bbbbbbb");
      expect((await state(project.id))?.queued).toMatchObject({ trigger: "merge", commit_sha: "bbbbbbb" });
    });

    it("settles a success as ready with the golden's size and commit, then starts the queued follow-up", async () => {
      const project = await newProject();
      await store.updateSettings(project.id, { auto_warm_docker_cache: true });
      await store.recordMerge(project.id, "c0ffee1");
      const first = await started(project.id);
      expect(first.commit_sha).toBe("c0ffee1");
      await store.recordMerge(project.id, "c0ffee2");
      await transitions.trigger(project.id, "merge", "c0ffee2");
      const finishedAt = "2026-01-02T03:04:05.000Z";
      const settled = await transitions.settleBuild(
        first.id,
        outcome("succeeded", { finished_at: finishedAt }),
        noGolden,
      );
      expect(settled?.followUp).toMatchObject({ trigger: "merge", commit_sha: "c0ffee2", status: "running" });
      expect(settled?.project.metadata.docker_cache_state).toMatchObject({
        status: "building",
        build_id: settled?.followUp?.id,
        size_bytes: 42,
        last_ready_at: finishedAt,
        golden_commit: "c0ffee1",
        merges_behind: 1,
        queued: null,
        error: null,
      });
      expect(await store.getBuild(project.id, first.id)).toMatchObject({
        status: "succeeded",
        size_bytes: 42,
        finished_at: finishedAt,
      });
    });

    it("starts the queued follow-up after a failure too, but not after a stop", async () => {
      const project = await newProject();
      const first = await started(project.id);
      await transitions.trigger(project.id, "manual", null);
      const afterFailure = await transitions.settleBuild(first.id, outcome("failed"), noGolden);
      expect(afterFailure?.followUp?.trigger).toBe("manual");

      await transitions.trigger(project.id, "manual", null);
      const afterStop = await transitions.settleBuild(afterFailure?.followUp?.id ?? "", outcome("stopped"), noGolden);
      expect(afterStop?.followUp).toBeNull();
      expect(afterStop?.project.metadata.docker_cache_state).toMatchObject({ status: "none", queued: null });
    });

    it("drops a queued merge when the setting was turned off meanwhile", async () => {
      const project = await newProject();
      await store.updateSettings(project.id, { auto_warm_docker_cache: true });
      const first = await started(project.id);
      await transitions.trigger(project.id, "merge", "abc1234");
      await store.updateSettings(project.id, { auto_warm_docker_cache: false });
      const settled = await transitions.settleBuild(first.id, outcome("succeeded"), noGolden);
      expect(settled?.followUp).toBeNull();
      expect(settled?.project.metadata.docker_cache_state).toMatchObject({ status: "ready", queued: null });
    });

    it("keeps the golden sessions still use beside a failure", async () => {
      const project = await newProject();
      await transitions.settleBuild(
        (await started(project.id)).id,
        outcome("succeeded", { finished_at: "2026-01-01T00:00:00.000Z" }),
        noGolden,
      );
      const second = await started(project.id, "retry");
      const failed = await transitions.settleBuild(second.id, outcome("failed"), noGolden);
      expect(failed?.project.metadata.docker_cache_state).toMatchObject({
        status: "failed",
        error: "Startup script exited with code 2",
        size_bytes: 42,
        last_ready_at: "2026-01-01T00:00:00.000Z",
        build_id: second.id,
        consecutive_failures: 1,
      });
    });

    it("settles a stopped build as what the golden really is", async () => {
      const project = await newProject();
      const none = await transitions.settleBuild((await started(project.id)).id, outcome("stopped"), noGolden);
      expect(none?.project.metadata.docker_cache_state).toMatchObject({ status: "none", error: null, size_bytes: 0 });
      const builtAt = "2026-02-03T04:05:06.000Z";
      const ready = await transitions.settleBuild((await started(project.id, "retry")).id, outcome("stopped"), {
        exists: true,
        size_bytes: 77,
        built_at: builtAt,
      });
      expect(ready?.project.metadata.docker_cache_state).toMatchObject({
        status: "ready",
        size_bytes: 77,
        last_ready_at: builtAt,
      });
      expect(await store.getBuild(project.id, ready?.project.metadata.docker_cache_state.build_id ?? "")).toMatchObject(
        {
          status: "stopped",
        },
      );
    });

    it("settles a build once; later or stale outcomes change nothing", async () => {
      const project = await newProject();
      const build = await started(project.id);
      expect(await transitions.settleBuild(build.id, outcome("succeeded"), noGolden)).not.toBeNull();
      expect(await transitions.settleBuild(build.id, outcome("failed", { error: "late" }), noGolden)).toBeNull();
      expect((await state(project.id))?.status).toBe("ready");
    });

    it("pauses merge builds after three failures in a row, until a retry or a resume", async () => {
      const project = await newProject();
      await store.updateSettings(project.id, { auto_warm_docker_cache: true });
      for (let i = 0; i < 3; i++) {
        await transitions.settleBuild((await started(project.id, "merge")).id, outcome("failed"), noGolden);
      }
      expect(await state(project.id)).toMatchObject({ paused: true, consecutive_failures: 3, status: "failed" });
      expect((await transitions.trigger(project.id, "merge", "abc1234")).kind).toBe("paused");
      // A manual build runs while paused but does not resume; a retry resumes.
      const manual = await started(project.id, "manual");
      await transitions.settleBuild(manual.id, outcome("failed"), noGolden);
      expect((await state(project.id))?.paused).toBe(true);
      const retry = await started(project.id, "retry");
      expect(await state(project.id)).toMatchObject({ paused: false, consecutive_failures: 0 });
      await transitions.settleBuild(retry.id, outcome("succeeded"), noGolden);
      await transitions.settleBuild((await started(project.id, "merge")).id, outcome("failed"), noGolden);
      expect(await state(project.id)).toMatchObject({ paused: false, consecutive_failures: 1 });
      expect((await transitions.resume(project.id))?.metadata.docker_cache_state.consecutive_failures).toBe(0);
    });

    it("drops a queued merge when merge builds pause", async () => {
      const project = await newProject();
      await store.updateSettings(project.id, { auto_warm_docker_cache: true, pause_after_failures: 1 });
      const build = await started(project.id, "merge");
      await transitions.trigger(project.id, "merge", "abc1234");
      const settled = await transitions.settleBuild(build.id, outcome("failed"), noGolden);
      expect(settled?.followUp).toBeNull();
      expect(settled?.project.metadata.docker_cache_state).toMatchObject({ paused: true, queued: null });
    });

    it("counts merges behind the golden, once per new commit", async () => {
      const project = await newProject();
      await store.recordMerge(project.id, "aaaaaaa");
      await transitions.settleBuild((await started(project.id)).id, outcome("succeeded"), noGolden);
      expect((await store.recordMerge(project.id, "bbbbbbb"))?.isNew).toBe(true);
      expect((await store.recordMerge(project.id, "bbbbbbb"))?.isNew).toBe(false);
      await store.recordMerge(project.id, "ccccccc");
      expect(await state(project.id)).toMatchObject({ golden_commit: "aaaaaaa", merges_behind: 2 });
      expect((await store.getProject(project.id))?.main_commit).toBe("ccccccc");
      expect(await store.recordMerge("missing", "abc1234")).toBeNull();
    });

    it("clears the cache unless a build is running, and notes an eviction", async () => {
      const project = await newProject();
      const build = await started(project.id);
      expect(await transitions.clearCache(project.id)).toBeNull();
      await transitions.settleBuild(build.id, outcome("succeeded"), noGolden);
      const evicted = await transitions.goldenEvicted(project.id);
      expect(evicted?.metadata.docker_cache_state).toMatchObject({
        status: "none",
        size_bytes: 0,
        last_ready_at: null,
      });
      expect(evicted?.metadata.docker_cache_state.evicted_at).not.toBeNull();
      // Building again clears the note.
      await started(project.id);
      expect((await state(project.id))?.evicted_at).toBeNull();
    });

    it("keeps the newest builds of a project and forgets the rest", async () => {
      const project = await newProject();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const build = await started(project.id, "manual");
        ids.push(build.id);
        await transitions.settleBuild(build.id, outcome("succeeded"), noGolden);
      }
      const running = await started(project.id, "manual");
      expect((await store.pruneBuilds(project.id, 3)).map((b) => b.id)).toEqual(
        expect.arrayContaining(ids.slice(0, 3)),
      );
      const kept = await store.listBuilds(project.id, 20);
      expect(kept.map((b) => b.id)).toEqual([running.id, ...ids.slice(3).reverse()]);
      expect(kept[1]?.duration_seconds).toBeGreaterThanOrEqual(0);
    });

    it("records a running build as sent to the sandbox once it is", async () => {
      const project = await newProject();
      const build: StoredBuild = await started(project.id);
      expect(build).toMatchObject({ dispatched: false, timeout_seconds: 1800 });
      await store.markDispatched(build.id);
      expect((await store.runningBuilds())[0]).toMatchObject({ id: build.id, dispatched: true });
    });

    it("remembers webhook deliveries, so a replay is recognised", async () => {
      const project = await newProject();
      expect(await store.webhookTarget(project.id)).toBeNull();
      await store.setWebhookSecret(project.id, "s3cret");
      expect(await store.webhookTarget(project.id)).toEqual({ secret: "s3cret", defaultBranch: "main" });
      expect((await store.getProject(project.id))?.metadata.webhook_configured).toBe(true);
      expect(await store.recordDelivery("d-1", project.id)).toBe(true);
      expect(await store.recordDelivery("d-1", project.id)).toBe(false);
    });

    it("counts every change in the project's revision", async () => {
      const project = await newProject();
      const revisions = [project.revision];
      const on = await store.updateSettings(project.id, { auto_warm_docker_cache: true });
      if (on.kind === "updated") revisions.push(on.project.revision);
      const claim = await transitions.trigger(project.id, "enable", null);
      if (claim.kind === "started") revisions.push(claim.project.revision);
      const settled = await transitions.settleBuild(
        claim.kind === "started" ? claim.build.id : "",
        outcome("failed"),
        noGolden,
      );
      revisions.push(settled?.project.revision ?? -1);
      revisions.push((await store.recordMerge(project.id, "abc1234"))?.project.revision ?? -1);
      revisions.push((await transitions.clearCache(project.id))?.revision ?? -1);
      expect(revisions).toEqual([0, 1, 2, 3, 4, 5]);
    });
  });
}
