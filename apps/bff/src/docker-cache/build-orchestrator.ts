// Golden-build orchestration: what starts a build, how its outcome reaches the project's state,
// and the cache's deletion. The state itself only moves through build-state-machine.ts's
// transitions, applied atomically by the store; this module decides when, and tells the sandbox.
import { ProblemError } from "@prewarm/service-kit/problem";
import type { Logger } from "../logger.ts";
import type { ProjectEvents } from "../project-events.ts";
import type { SandboxBuild, SandboxClient } from "../sandbox/sandbox-client.ts";
import type { Build, GoldenTruth, Project, ProjectStore } from "../store/project-store.ts";
import type { BuildTrigger } from "./build-state-machine.ts";

export type StartResult =
  | { started: true; project: Project; build: Build }
  | { started: false; reason: "already_building" | "not_startable"; project: Project }
  | { started: false; reason: "sandbox_refused"; project: Project; problem: ProblemError };

export type MainChangedAction = "build_started" | "recorded" | "build_running";

/** How long a build may be unknown to the sandbox before it counts as lost (its start may be in flight). */
const unknownBuildGraceMs = 60_000;

export interface OrchestratorDeps {
  store: ProjectStore;
  sandbox: SandboxClient;
  events: ProjectEvents;
  logger: Logger;
  buildTimeoutSeconds: number;
}

export class BuildOrchestrator {
  constructor(private readonly deps: OrchestratorDeps) {}

  /** Starts a build unless one is running. A sandbox that refuses leaves the build failed, not stuck. */
  async startBuild(projectId: string, trigger: BuildTrigger, commitSha: string | null = null): Promise<StartResult> {
    const { store, sandbox, events } = this.deps;
    const claim = await store.claimBuild(projectId, trigger, commitSha);
    if (!claim) {
      const project = await this.requireProject(projectId);
      const building = project.metadata.docker_cache_state.status === "building";
      return { started: false, reason: building ? "already_building" : "not_startable", project };
    }
    events.publish(claim.project);
    try {
      await sandbox.startBuild({
        build_id: claim.build.id,
        project_id: projectId,
        repository_url: claim.project.repository_url,
        branch: claim.project.default_branch,
        startup_script: claim.project.startup_script,
        timeout_seconds: this.deps.buildTimeoutSeconds,
      });
    } catch (error) {
      const problem =
        error instanceof ProblemError ? error : new ProblemError(502, "sandbox_error", "The sandbox refused the build");
      this.deps.logger.warn({ projectId, buildId: claim.build.id, error: problem.detail }, "build could not start");
      const project = await this.settle(claim.build.id, projectId, {
        status: "failed",
        finished_at: new Date().toISOString(),
        error: `Could not start the build: ${problem.detail}`,
        size_bytes: null,
      });
      return { started: false, reason: "sandbox_refused", project: project ?? claim.project, problem };
    }
    this.deps.logger.info({ projectId, buildId: claim.build.id, trigger }, "build started");
    return { started: true, project: claim.project, build: claim.build };
  }

  /** Stops the running build; the state returns to what the golden really is. */
  async stopBuild(projectId: string): Promise<Project> {
    const project = await this.requireProject(projectId);
    const state = project.metadata.docker_cache_state;
    if (state.status !== "building" || !state.build_session_id) {
      throw new ProblemError(409, "no_build_running", "No build is running for this project");
    }
    const ended = await this.deps.sandbox.stopBuild(state.build_session_id);
    const settled = ended
      ? await this.settleFromSandbox(ended)
      : await this.settle(state.build_session_id, projectId, {
          status: "stopped",
          finished_at: new Date().toISOString(),
          error: null,
          size_bytes: null,
        });
    return settled ?? (await this.requireProject(projectId));
  }

  /** Deletes the golden on the sandbox, then records that there is none. */
  async deleteCache(projectId: string): Promise<Project> {
    const project = await this.requireProject(projectId);
    if (project.metadata.docker_cache_state.status === "building") {
      throw new ProblemError(409, "build_running", "A build is running; stop it before deleting the cache");
    }
    await this.deps.sandbox.deleteGolden(projectId);
    const cleared = await this.deps.store.clearCache(projectId);
    if (!cleared) {
      throw new ProblemError(409, "build_running", "A build started meanwhile; stop it before deleting the cache");
    }
    this.deps.events.publish(cleared);
    return cleared;
  }

  /** A merge to main: always recorded; builds only while the setting is on. */
  async mainChanged(projectId: string, commitSha: string): Promise<{ action: MainChangedAction; project: Project }> {
    const recorded = await this.deps.store.recordMainCommit(projectId, commitSha);
    if (!recorded) throw notFound(projectId);
    this.deps.events.publish(recorded);
    if (!recorded.metadata.auto_warm_docker_cache) return { action: "recorded", project: recorded };
    const result = await this.startBuild(projectId, "merge", commitSha);
    if (result.started) return { action: "build_started", project: result.project };
    if (result.reason === "sandbox_refused") throw result.problem;
    return { action: "build_running", project: result.project };
  }

  /** Applies a build's outcome as the sandbox reports it; running builds are left alone. */
  async settleFromSandbox(build: SandboxBuild): Promise<Project | null> {
    if (build.status === "running") return null;
    return this.settle(build.build_id, build.project_id, {
      status: build.status,
      finished_at: build.finished_at ?? new Date().toISOString(),
      error: build.error,
      size_bytes: build.size_bytes,
    });
  }

  /**
   * Compares every build the store believes is running with the sandbox's truth and settles the
   * ones that ended. The safety net under the event stream.
   */
  async reconcile(): Promise<void> {
    for (const build of await this.deps.store.runningBuilds()) {
      const truth = await this.deps.sandbox.getBuild(build.id);
      if (truth) {
        await this.settleFromSandbox(truth);
      } else if (Date.now() - Date.parse(build.started_at) > unknownBuildGraceMs) {
        await this.settle(build.id, build.project_id, {
          status: "interrupted",
          finished_at: new Date().toISOString(),
          error: "The sandbox has no record of this build",
          size_bytes: null,
        });
      }
    }
  }

  private async settle(
    buildId: string,
    projectId: string,
    outcome: Parameters<ProjectStore["settleBuild"]>[1],
  ): Promise<Project | null> {
    const golden = outcome.status === "stopped" ? await this.goldenTruth(projectId) : noGolden;
    const project = await this.deps.store.settleBuild(buildId, outcome, golden);
    if (project) {
      this.deps.events.publish(project);
      this.deps.logger.info({ projectId, buildId, status: outcome.status }, "build settled");
    }
    return project;
  }

  /** What the golden really is, from the sandbox; the store's belief when it cannot be asked. */
  private async goldenTruth(projectId: string): Promise<GoldenTruth> {
    try {
      const golden = await this.deps.sandbox.getGolden(projectId);
      return { exists: golden.exists, size_bytes: golden.size_bytes, built_at: golden.built_at };
    } catch {
      const state = (await this.requireProject(projectId)).metadata.docker_cache_state;
      return { exists: state.last_ready_at !== null, size_bytes: state.size_bytes, built_at: state.last_ready_at };
    }
  }

  private async requireProject(projectId: string): Promise<Project> {
    const project = await this.deps.store.getProject(projectId);
    if (!project) throw notFound(projectId);
    return project;
  }
}

const noGolden: GoldenTruth = { exists: false, size_bytes: 0, built_at: null };

export function notFound(projectId: string): ProblemError {
  return new ProblemError(404, "project_not_found", `No project ${projectId}`);
}
