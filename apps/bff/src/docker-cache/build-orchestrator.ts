// Golden-build orchestration: what starts a build, how it reaches the sandbox, how its outcome
// reaches the project's state, and what follows it. The state only moves through
// build-state-machine.ts's transitions, applied atomically by the store; this module decides
// when, and talks to the sandbox.
//
// A build is claimed in the database first, placed on one sandbox host second (placement.ts:
// the first placement recorded is kept) and sent there third; one the host has accepted is
// marked dispatched. So after a crash anywhere between, the reconcile finds the undispatched
// build and sends it to the same host (which refuses a build ID twice, so sending is safe to
// repeat); nothing stays `building` forever, nothing runs twice, with any number of BFFs.
import { formatDuration } from "@prewarm/service-kit/duration";
import { ProblemError } from "@prewarm/service-kit/problem";
import type { Logger } from "../logger.ts";
import { buildSeconds, buildsEnded, buildsStarted, queueWaitSeconds } from "../metrics.ts";
import { projectNotFound } from "../problems.ts";
import type { Fleet, FleetHost } from "../sandbox/fleet.ts";
import { type SandboxBuild, sandboxMayAnswerLater } from "../sandbox/sandbox-client.ts";
import type { CacheTransitions, GoldenTruth, Outcome, Settled, TriggerResult } from "../store/cache-transitions.ts";
import type { HostGoldens } from "../store/host-goldens.ts";
import type { Placements } from "../store/placements.ts";
import type { Project, StoredBuild } from "../store/project-rows.ts";
import type { ProjectStore } from "../store/project-store.ts";
import type { RunUsers } from "../store/run-users.ts";
import type { BuildTrigger } from "./build-state-machine.ts";
import type { GoldenReplication } from "./golden-replication.ts";
import { placeBuild } from "./placement.ts";

type MainChangedAction = "build_started" | "queued" | "recorded" | "paused";

/** Builds kept per project, with their logs. */
export const keptBuilds = 20;

interface OrchestratorDeps {
  store: ProjectStore;
  transitions: CacheTransitions;
  fleet: Fleet;
  placements: Placements;
  goldens: HostGoldens;
  replication: GoldenReplication;
  runUsers: RunUsers;
  logger: Logger;
  /** How long a claimed build may wait for its first dispatch before the reconcile sends it. */
  dispatchGraceMs?: number;
  /** How long past its timeout a build may run before the BFF itself stops it. */
  timeoutGraceMs?: number;
  /** How long a build may wait for an unreachable sandbox before it fails. */
  dispatchGiveUpMs?: number;
}

export class BuildOrchestrator {
  private readonly deps: OrchestratorDeps;
  private readonly dispatchGraceMs: number;
  private readonly timeoutGraceMs: number;
  private readonly dispatchGiveUpMs: number;

  constructor(deps: OrchestratorDeps) {
    this.deps = deps;
    this.dispatchGraceMs = deps.dispatchGraceMs ?? 10_000;
    this.timeoutGraceMs = deps.timeoutGraceMs ?? 60_000;
    this.dispatchGiveUpMs = deps.dispatchGiveUpMs ?? 5 * 60_000;
  }

  /**
   * Starts a build, or queues it behind the running one. A started build is sent to the sandbox
   * at once; a sandbox that refuses it fails it with the reason, one that cannot be reached gets
   * it again on every reconcile for a while (it may be restarting) before the build fails.
   */
  async trigger(projectId: string, trigger: BuildTrigger, commitSha: string | null = null): Promise<TriggerResult> {
    const result = await this.deps.transitions.trigger(projectId, trigger, commitSha);
    if (result.kind !== "started") return result;
    this.deps.logger.info({ projectId, buildId: result.build.id, trigger }, "build started");
    buildsStarted.inc({ trigger });
    const failed = await this.dispatch(result.build);
    return failed ? { ...result, project: failed } : result;
  }

  /** Stops the running build and drops its queued follow-up; the state returns to the golden's truth. */
  async stopBuild(projectId: string): Promise<Project> {
    const project = await this.requireProject(projectId);
    const state = project.metadata.docker_cache_state;
    if (state.status !== "building" || !state.build_id) {
      throw new ProblemError(409, "no_build_running", "No build is running for this project");
    }
    const buildId = state.build_id;
    // Placed now if it was not: a start still on its way goes to the same host, which then refuses it.
    const build = await this.deps.store.getStoredBuild(buildId);
    const placed = build ? await placeBuild(this.deps.placements, this.deps.fleet, build) : null;
    if (placed && !placed.host && !placed.removed) {
      throw new ProblemError(
        502,
        "sandbox_unavailable",
        `The build cannot be stopped now: ${placed.why}. Try again in a moment.`,
      );
    }
    await this.deps.transitions.dropQueue(projectId);
    // Naming the project makes the stop final even if the build's start is still on its way.
    const ended = placed?.host ? await placed.host.client.stopBuild(buildId, projectId) : null;
    if (ended && ended.status !== "running") await this.settleFromSandbox(ended);
    else await this.settle(buildId, projectId, stoppedNow());
    return this.requireProject(projectId);
  }

  /**
   * Deletes the golden on every sandbox host and records that there is none. The project's record
   * is cleared and each host's deletion recorded as owed in one transaction, refused whole while a
   * build runs; then every host that can be reached deletes at once, and one that is down does it
   * when it returns, before anything else of the project reaches it.
   */
  async deleteCache(projectId: string): Promise<Project> {
    const cleared = await this.deps.goldens.deleteEverywhere(projectId, (tx) =>
      this.deps.transitions.clearCache(projectId, tx),
    );
    if (!cleared) {
      await this.requireProject(projectId);
      throw new ProblemError(409, "build_running", "A build is running; stop it before deleting the cache");
    }
    await Promise.all(this.deps.fleet.all().map((host) => this.deps.replication.deleteOwed(host, projectId)));
    return cleared;
  }

  /** A merge to main: always recorded; builds (or queues) while the setting is on and not paused. */
  async mainChanged(projectId: string, commitSha: string): Promise<{ action: MainChangedAction; project: Project }> {
    const recorded = await this.deps.store.recordMerge(projectId, commitSha);
    if (!recorded) throw projectNotFound(projectId);
    const { project, isNew } = recorded;
    if (!isNew || !project.metadata.auto_warm_docker_cache) return { action: "recorded", project };
    const result = await this.trigger(projectId, "merge", commitSha);
    switch (result.kind) {
      case "started":
        return { action: "build_started", project: result.project };
      case "queued":
        return { action: "queued", project: result.project };
      case "paused":
        return { action: "paused", project: result.project };
      case "script_required":
        return { action: "recorded", project: result.project };
      case "not_found":
        throw projectNotFound(projectId);
    }
  }

  async resume(projectId: string): Promise<Project> {
    const project = await this.deps.transitions.resume(projectId);
    if (!project) throw projectNotFound(projectId);
    return project;
  }

  /** Applies a build's outcome as the sandbox reports it; running builds are left alone. */
  async settleFromSandbox(build: SandboxBuild): Promise<Project | null> {
    if (build.status === "running") return null;
    return this.settle(build.build_id, build.project_id, {
      status: build.status,
      finished_at: build.finished_at ?? new Date().toISOString(),
      error: build.error,
      size_bytes: build.size_bytes,
      docker_engine: build.docker_engine,
    });
  }

  /** A host evicted a golden: believe the hosts about what is left; the golden is gone when no host has it. */
  async goldenEvicted(projectId: string, host: FleetHost): Promise<void> {
    await this.deps.goldens.forget(host.id, projectId);
    // A host that cannot be asked may hold it: the golden is gone only when every host says so.
    const answers = await Promise.allSettled(this.deps.fleet.all().map((each) => each.client.getGolden(projectId)));
    const gone = answers.every((answer) => answer.status === "fulfilled" && !answer.value.exists);
    if (gone) await this.deps.transitions.goldenEvicted(projectId);
  }

  /**
   * Compares every build the store believes is running with the sandbox's truth: sends the ones
   * the sandbox never got, settles the ones that ended, stops the ones past their timeout. The
   * safety net under the event stream, and how a restarted BFF picks up where it was.
   */
  async reconcile(): Promise<void> {
    for (const build of await this.deps.store.runningBuilds()) {
      // One host that cannot be asked does not keep the others' builds from being reconciled.
      await this.reconcileBuild(build).catch((error) =>
        this.deps.logger.warn({ buildId: build.id, error: String(error) }, "could not reconcile the build"),
      );
    }
  }

  private async reconcileBuild(build: StoredBuild): Promise<void> {
    const age = Date.now() - Date.parse(build.started_at);
    if (!build.dispatched) {
      if (age > this.dispatchGraceMs) await this.dispatch(build);
      return;
    }
    const placed = await placeBuild(this.deps.placements, this.deps.fleet, build);
    // A host this process cannot use now is asked later; only a removed one loses the build.
    if (!placed.host && !placed.removed) return;
    const host = placed.host;
    const truth = host ? await host.client.getBuild(build.id) : null;
    if (!truth) {
      await this.settle(build.id, build.project_id, {
        status: "interrupted",
        finished_at: new Date().toISOString(),
        error: host ? "The sandbox has no record of this build" : "Its sandbox host was removed",
        size_bytes: null,
      });
    } else if (truth.status !== "running") {
      await this.settleFromSandbox(truth);
    } else if (age > build.timeout_seconds * 1000 + this.timeoutGraceMs) {
      // The sandbox enforces the timeout itself; this is for a sandbox that failed to.
      this.deps.logger.warn({ buildId: build.id }, "build ran past its timeout; stopping it");
      await host?.client.stopBuild(build.id);
      await this.settle(build.id, build.project_id, {
        status: "failed",
        finished_at: new Date().toISOString(),
        error: `Build timed out after ${formatDuration(build.timeout_seconds)}`,
        size_bytes: null,
      });
    }
  }

  /**
   * Sends a claimed build to its sandbox host, placing it first. Returns the project if the host
   * refused it and the build was settled as failed, or null when it was accepted (or had been already).
   */
  private async dispatch(build: StoredBuild): Promise<Project | null> {
    const { store, logger, runUsers } = this.deps;
    const project = await store.getProject(build.project_id);
    const runUser = await runUsers.of(build.project_id);
    if (!project || !runUser) return null;
    let host: FleetHost | null = null;
    try {
      const placed = await placeBuild(this.deps.placements, this.deps.fleet, build);
      if (!placed.host) {
        throw new ProblemError(
          placed.removed ? 409 : 502,
          placed.removed ? "host_removed" : "sandbox_unavailable",
          placed.why,
        );
      }
      host = placed.host;
      // A deletion the host owes is done first: the build must not start from a deleted golden.
      if (!(await this.deps.replication.deleteOwed(host, build.project_id))) {
        throw new ProblemError(502, "sandbox_unavailable", `${host.label} still owes the deletion of the cache`);
      }
      await host.client.startBuild({
        build_id: build.id,
        project_id: build.project_id,
        repository_url: project.repository_url,
        branch: project.default_branch,
        startup_script: project.startup_script,
        timeout_seconds: build.timeout_seconds,
        run_user: runUser,
      });
    } catch (error) {
      const problem = error instanceof ProblemError ? error : null;
      if (problem?.code === "build_exists") {
        // Sent before, by this process before a crash or by another one: it is there.
        await store.markDispatched(build.id);
        return null;
      }
      if (problem?.code === "build_running") {
        // The sandbox is still finishing the project's previous build (it ends soon: every build
        // has a timeout). Not a failure: the reconcile sends this one again until it is taken.
        logger.info({ buildId: build.id }, "the sandbox is still busy with the project's previous build");
        return null;
      }
      // A refusal (the sandbox's own reason: a conflict, or runs refused altogether) fails the
      // build at once; only a sandbox that did not answer, or failed, is tried again.
      const unreachable = sandboxMayAnswerLater(error);
      const waited = Date.now() - Date.parse(build.started_at);
      if (unreachable && waited < this.dispatchGiveUpMs) {
        // The sandbox may be restarting: the reconcile sends the build again when it is back.
        logger.warn({ buildId: build.id, error: problem?.detail }, "the sandbox cannot take the build yet");
        return null;
      }
      // Giving up: make sure the build can never start later, in case a request did get through.
      await host?.client.stopBuild(build.id, build.project_id).catch(() => undefined);
      const reason = unreachable
        ? `the sandbox could not be reached for ${Math.round(waited / 60_000)} min (${problem?.detail ?? "no answer"})`
        : problem?.detail;
      logger.warn({ buildId: build.id, error: reason }, "build could not start");
      return this.settle(build.id, build.project_id, {
        status: "failed",
        finished_at: new Date().toISOString(),
        error: `Could not start the build: ${reason}`,
        size_bytes: null,
      });
    }
    await store.markDispatched(build.id);
    return null;
  }

  private async settle(buildId: string, projectId: string, outcome: Outcome): Promise<Project | null> {
    const golden = outcome.status === "stopped" ? await this.goldenTruth(projectId, buildId) : noGolden;
    const settled = await this.deps.transitions.settleBuild(buildId, outcome, golden);
    if (!settled) return null;
    if (outcome.status === "succeeded") await this.promoted(buildId, projectId, outcome.size_bytes ?? 0);
    this.deps.logger.info({ projectId, buildId, status: outcome.status }, "build settled");
    countSettled(settled, outcome);
    void this.forgetOldBuilds(projectId);
    if (settled.followUp) {
      this.deps.logger.info({ projectId, buildId: settled.followUp.id }, "queued build started");
      return (await this.dispatch(settled.followUp)) ?? settled.project;
    }
    return settled.project;
  }

  /** The build promoted its golden on its host: recorded there, and every other host is asked to fetch it. */
  private async promoted(buildId: string, projectId: string, sizeBytes: number): Promise<void> {
    const hostId = await this.deps.placements.buildHost(buildId);
    if (hostId === null) return;
    await this.deps.goldens.built(hostId, projectId, buildId, sizeBytes);
    void this.deps.replication
      .spread(projectId)
      .catch((error) => this.deps.logger.warn({ projectId, error: String(error) }, "could not replicate the golden"));
  }

  /** Keeps the last builds of the project and their logs; forgets older ones on both sides. */
  private async forgetOldBuilds(projectId: string): Promise<void> {
    try {
      for (const { id, host_id } of await this.deps.store.pruneBuilds(projectId, keptBuilds)) {
        await this.deps.fleet
          .get(host_id)
          ?.client.deleteBuild(id)
          .catch(() => undefined);
      }
    } catch (error) {
      this.deps.logger.warn({ projectId, error: String(error) }, "could not forget old builds");
    }
  }

  /**
   * What the golden really is after a stop: the newest generation any host holds, as the fleet's
   * records say (the stopped build's host may hold none while another does); without records,
   * the build's host's word; the store's belief when it cannot be asked.
   */
  private async goldenTruth(projectId: string, buildId: string): Promise<GoldenTruth> {
    const newest = (await this.deps.goldens.ofProject(projectId)).find((golden) => golden.state === "ready");
    if (newest) {
      const state = (await this.requireProject(projectId)).metadata.docker_cache_state;
      return { exists: true, size_bytes: newest.size_bytes, built_at: state.last_ready_at ?? newest.updated_at };
    }
    try {
      const host = this.deps.fleet.get(await this.deps.placements.buildHost(buildId));
      if (!host) throw new Error("no host");
      const golden = await host.client.getGolden(projectId);
      return { exists: golden.exists, size_bytes: golden.size_bytes, built_at: golden.built_at };
    } catch {
      const state = (await this.requireProject(projectId)).metadata.docker_cache_state;
      return { exists: state.last_ready_at !== null, size_bytes: state.size_bytes, built_at: state.last_ready_at };
    }
  }

  private async requireProject(projectId: string): Promise<Project> {
    const project = await this.deps.store.getProject(projectId);
    if (!project) throw projectNotFound(projectId);
    return project;
  }
}

const noGolden: GoldenTruth = { exists: false, size_bytes: 0, built_at: null };

function stoppedNow(): Outcome {
  return { status: "stopped", finished_at: new Date().toISOString(), error: null, size_bytes: null };
}

/** The metrics of a settle: the build that ended, and the follow-up it started. */
function countSettled({ ended, followUp, followUpQueuedAt }: Settled, outcome: Outcome): void {
  buildsEnded.inc({ trigger: ended.trigger, outcome: outcome.status });
  const seconds = (Date.parse(outcome.finished_at) - ended.startedAt.getTime()) / 1000;
  if (Number.isFinite(seconds)) buildSeconds.observe({ outcome: outcome.status }, Math.max(0, seconds));
  if (!followUp) return;
  buildsStarted.inc({ trigger: followUp.trigger });
  if (followUpQueuedAt) queueWaitSeconds.observe(Math.max(0, (Date.now() - followUpQueuedAt.getTime()) / 1000));
}
