import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ProjectStore } from "../src/store/project-store.ts";
import { storeBackends } from "./helpers.ts";

const noGolden = { exists: false, size_bytes: 0, built_at: null };

for (const backend of storeBackends()) {
  describe.skipIf(backend.skip !== null)(`the project store on ${backend.name}`, () => {
    let store: ProjectStore;
    let drop: () => Promise<void>;

    beforeEach(async () => {
      const opened = await backend.open();
      drop = opened.drop;
      store = new ProjectStore(opened.sql);
      await store.migrate();
    });
    afterEach(async () => {
      await drop();
    });

    const newProject = (script = "docker compose build") =>
      store.createProject({ name: "Shop", repository_url: "https://git.example/shop.git", startup_script: script });

    it("creates, reads and lists projects with an empty cache state", async () => {
      const project = await newProject();
      expect(project).toMatchObject({
        name: "Shop",
        default_branch: "main",
        main_commit: null,
        metadata: {
          auto_warm_docker_cache: false,
          docker_cache_state: {
            status: "none",
            size_bytes: 0,
            last_build_at: null,
            last_ready_at: null,
            build_session_id: null,
            error: null,
          },
        },
      });
      expect(await store.getProject(project.id)).toEqual(project);
      expect((await store.listProjects()).map((p) => p.id)).toEqual([project.id]);
      expect(await store.getProject("missing")).toBeNull();
    });

    it("updates settings without touching the cache state, and keeps what an update leaves out", async () => {
      const project = await newProject();
      const claim = await store.claimBuild(project.id, "manual", null);
      await store.settleBuild(
        claim?.build.id ?? "",
        { status: "succeeded", finished_at: new Date().toISOString(), error: null, size_bytes: 42 },
        noGolden,
      );
      const on = await store.updateSettings(project.id, { auto_warm_docker_cache: true });
      expect(on.kind).toBe("updated");
      const scriptOnly = await store.updateSettings(project.id, { startup_script: "make images" });
      if (scriptOnly.kind !== "updated") throw new Error(scriptOnly.kind);
      expect(scriptOnly.project.startup_script).toBe("make images");
      expect(scriptOnly.project.metadata.auto_warm_docker_cache).toBe(true);
      expect(scriptOnly.project.metadata.docker_cache_state).toMatchObject({ status: "ready", size_bytes: 42 });
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

    it("reports the setting turned on to exactly one of many concurrent updates", async () => {
      const project = await newProject();
      const results = await Promise.all(
        Array.from({ length: 25 }, () => store.updateSettings(project.id, { auto_warm_docker_cache: true })),
      );
      const turnedOn = results.filter((r) => r.kind === "updated" && r.turnedOn);
      expect(turnedOn).toHaveLength(1);
    });

    it("claims a build for exactly one of many concurrent triggers", async () => {
      const project = await newProject();
      const claims = await Promise.all(
        Array.from({ length: 25 }, () => store.claimBuild(project.id, "merge", "abc1234")),
      );
      const won = claims.filter((c) => c !== null);
      expect(won).toHaveLength(1);
      expect(won[0]?.project.metadata.docker_cache_state).toMatchObject({
        status: "building",
        build_session_id: won[0]?.build.id,
        error: null,
      });
      expect(won[0]?.build).toMatchObject({ trigger: "merge", commit_sha: "abc1234", status: "running" });
      expect(await store.runningBuilds()).toHaveLength(1);
    });

    it("does not claim a build for a project without a startup script", async () => {
      const project = await newProject("");
      expect(await store.claimBuild(project.id, "manual", null)).toBeNull();
    });

    it("settles a success as ready with the golden's size", async () => {
      const project = await newProject();
      const claim = await store.claimBuild(project.id, "enable", null);
      const finishedAt = "2026-01-02T03:04:05.000Z";
      const settled = await store.settleBuild(
        claim?.build.id ?? "",
        { status: "succeeded", finished_at: finishedAt, error: null, size_bytes: 312_000_000 },
        noGolden,
      );
      expect(settled?.metadata.docker_cache_state).toMatchObject({
        status: "ready",
        size_bytes: 312_000_000,
        last_ready_at: finishedAt,
        error: null,
      });
      expect(await store.getBuild(project.id, claim?.build.id ?? "")).toMatchObject({
        status: "succeeded",
        size_bytes: 312_000_000,
        finished_at: finishedAt,
      });
    });

    it("settles a failure as failed with its error, keeping the golden sessions still use", async () => {
      const project = await newProject();
      const first = await store.claimBuild(project.id, "enable", null);
      await store.settleBuild(
        first?.build.id ?? "",
        { status: "succeeded", finished_at: "2026-01-01T00:00:00.000Z", error: null, size_bytes: 100 },
        noGolden,
      );
      const second = await store.claimBuild(project.id, "retry", null);
      const failed = await store.settleBuild(
        second?.build.id ?? "",
        {
          status: "failed",
          finished_at: new Date().toISOString(),
          error: "Startup script exited with code 2",
          size_bytes: null,
        },
        noGolden,
      );
      expect(failed?.metadata.docker_cache_state).toMatchObject({
        status: "failed",
        error: "Startup script exited with code 2",
        size_bytes: 100,
        last_ready_at: "2026-01-01T00:00:00.000Z",
        build_session_id: second?.build.id,
      });
    });

    it("settles a stopped build as what the golden really is", async () => {
      const project = await newProject();
      const claim = await store.claimBuild(project.id, "enable", null);
      const stoppedNone = await store.settleBuild(
        claim?.build.id ?? "",
        { status: "stopped", finished_at: new Date().toISOString(), error: null, size_bytes: null },
        noGolden,
      );
      expect(stoppedNone?.metadata.docker_cache_state).toMatchObject({ status: "none", error: null, size_bytes: 0 });

      const again = await store.claimBuild(project.id, "retry", null);
      const builtAt = "2026-02-03T04:05:06.000Z";
      const stoppedReady = await store.settleBuild(
        again?.build.id ?? "",
        { status: "stopped", finished_at: new Date().toISOString(), error: null, size_bytes: null },
        { exists: true, size_bytes: 77, built_at: builtAt },
      );
      expect(stoppedReady?.metadata.docker_cache_state).toMatchObject({
        status: "ready",
        size_bytes: 77,
        last_ready_at: builtAt,
      });
    });

    it("settles a build once; later or stale outcomes change nothing", async () => {
      const project = await newProject();
      const claim = await store.claimBuild(project.id, "enable", null);
      const id = claim?.build.id ?? "";
      const done = { status: "succeeded" as const, finished_at: new Date().toISOString(), error: null, size_bytes: 5 };
      expect(await store.settleBuild(id, done, noGolden)).not.toBeNull();
      expect(await store.settleBuild(id, { ...done, status: "failed", error: "late" }, noGolden)).toBeNull();
      expect((await store.getProject(project.id))?.metadata.docker_cache_state).toMatchObject({ status: "ready" });
    });

    it("clears the cache unless a build is running", async () => {
      const project = await newProject();
      const claim = await store.claimBuild(project.id, "enable", null);
      expect(await store.clearCache(project.id)).toBeNull();
      await store.settleBuild(
        claim?.build.id ?? "",
        { status: "succeeded", finished_at: new Date().toISOString(), error: null, size_bytes: 9 },
        noGolden,
      );
      const cleared = await store.clearCache(project.id);
      expect(cleared?.metadata.docker_cache_state).toMatchObject({
        status: "none",
        size_bytes: 0,
        last_ready_at: null,
      });
    });

    it("counts every change in the project's revision", async () => {
      const project = await newProject();
      const revisions = [project.revision];
      const on = await store.updateSettings(project.id, { auto_warm_docker_cache: true });
      if (on.kind === "updated") revisions.push(on.project.revision);
      const claim = await store.claimBuild(project.id, "enable", null);
      revisions.push(claim?.project.revision ?? -1);
      const settled = await store.settleBuild(
        claim?.build.id ?? "",
        { status: "failed", finished_at: new Date().toISOString(), error: "x", size_bytes: null },
        noGolden,
      );
      revisions.push(settled?.revision ?? -1);
      revisions.push((await store.recordMainCommit(project.id, "abc1234"))?.revision ?? -1);
      revisions.push((await store.clearCache(project.id))?.revision ?? -1);
      expect(revisions).toEqual([0, 1, 2, 3, 4, 5]);
    });

    it("records the newest commit of the default branch", async () => {
      const project = await newProject();
      expect((await store.recordMainCommit(project.id, "deadbeef"))?.main_commit).toBe("deadbeef");
      expect(await store.recordMainCommit("missing", "deadbeef")).toBeNull();
    });
  });
}
