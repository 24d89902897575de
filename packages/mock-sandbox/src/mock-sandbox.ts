// An in-memory stand-in for the sandbox's golden filesystem service, with the same observable
// behaviour as openapi/sandbox.yaml describes, plus controls a test uses to play the sandbox's
// part: emit log lines, end a build with an exit code, report a size, go offline, say what Docker
// daemons its runs get (or refuse them).
import type { components } from "@prewarm/api-types/sandbox";
import { MockSandboxError } from "./mock-error.ts";
import { MockLog } from "./mock-log.ts";
import { MockReplications } from "./mock-replications.ts";
import { MockTestSessions } from "./mock-test-sessions.ts";

export type Build = components["schemas"]["Build"];
export type GoldenInfo = components["schemas"]["GoldenInfo"];
export type SandboxEvent = components["schemas"]["SandboxEvent"];
export type StartBuildRequest = components["schemas"]["StartBuildRequest"];
export type DockerAvailability = components["schemas"]["DockerAvailability"];

/** The daemon every mock run has while the mock sandbox has an engine and runs daemons rootless. */
export const mockDockerEngine = { version: "20.10.24+dfsg1", storage_driver: "overlay2", rootless: true } as const;

/** What GET /v1/docker answers unless a test says otherwise: a rootless daemon per run, each project its own user. */
export const mockDockerAvailability: Readonly<DockerAvailability> = {
  available: true,
  detail: null,
  rootless: true,
  projects_isolated: true,
  refuses_runs: false,
};

export interface SequencedEvent {
  id: number;
  event: SandboxEvent;
}

interface MockBuild {
  build: Build;
  /** What the BFF asked for; null for a build stopped before it was ever started. */
  request: StartBuildRequest | null;
  log: MockLog;
}

export { MockSandboxError } from "./mock-error.ts";

export interface FinishOptions {
  exitCode?: number;
  sizeBytes?: number;
  error?: string;
  status?: "succeeded" | "failed" | "stopped" | "interrupted";
}

const defaultSizeBytes = 312_000_000;

export class MockSandbox {
  private builds = new Map<string, MockBuild>();
  private goldens = new Map<string, GoldenInfo>();
  private held: SequencedEvent[] = [];
  private nextEventId = Date.now();
  private listeners = new Set<(event: SequencedEvent) => void>();
  /** While false, every request fails as a network error would. */
  online = true;
  /**
   * What runs get here (GET /v1/docker): a daemon or none, rootless or a root one, each project as
   * its own user or not; with `refuses_runs` (and why in `detail`), every start is answered 503.
   */
  docker: DockerAvailability = { ...mockDockerAvailability };
  readonly testSessions = new MockTestSessions({
    goldenSize: (projectId) => {
      const golden = this.goldens.get(projectId);
      return golden?.exists ? golden.size_bytes : null;
    },
    goldenBuild: (projectId) => this.goldens.get(projectId)?.build_id ?? null,
    engineUsed: () => this.engineUsed(),
    refuseRuns: () => this.refuseRuns(),
  });

  readonly replications = new MockReplications({
    goldenBuild: (projectId) => this.goldens.get(projectId)?.build_id ?? null,
    promote: (projectId, buildId, sizeBytes) => {
      this.setGolden(projectId, sizeBytes, buildId);
      this.publish({ type: "golden", reason: "promoted", golden: this.getGolden(projectId), detail: null });
    },
    publish: (replication) => this.publish({ type: "replication", replication }),
  });

  reset(): void {
    for (const build of this.builds.values()) build.log.wake();
    this.replications.reset();
    this.builds = new Map();
    this.goldens = new Map();
    this.held = [];
    this.online = true;
    this.docker = { ...mockDockerAvailability };
    this.testSessions.reset();
  }

  // --- the contract's operations ---

  startBuild(request: StartBuildRequest): Build {
    this.refuseRuns();
    if (this.builds.has(request.build_id)) {
      throw new MockSandboxError(409, "build_exists", `A build with ID ${request.build_id} already exists`);
    }
    const running = this.runningBuild(request.project_id);
    if (running) throw new MockSandboxError(409, "build_running", `Build ${running.build_id} is already running`);
    const build: Build = {
      build_id: request.build_id,
      project_id: request.project_id,
      status: "running",
      started_at: new Date().toISOString(),
      finished_at: null,
      exit_code: null,
      error: null,
      size_bytes: null,
      // Its daemon is up at once.
      docker_engine: this.engineUsed(),
    };
    this.builds.set(build.build_id, { build, request, log: new MockLog() });
    this.publish({ type: "build", build: { ...build } });
    return { ...build };
  }

  /** Forgets an ended build; a running one cannot be forgotten. */
  removeBuild(buildId: string): void {
    const found = this.builds.get(buildId);
    if (found?.build.status === "running") {
      throw new MockSandboxError(409, "build_running", `Build ${buildId} is running; stop it first`);
    }
    this.builds.delete(buildId);
  }

  getBuild(buildId: string): Build | null {
    const found = this.builds.get(buildId);
    return found ? { ...found.build } : null;
  }

  /** Stops a build; one never seen is recorded as stopped when its project is named. */
  stopBuild(buildId: string, projectId?: string): Build | null {
    const found = this.builds.get(buildId);
    if (!found && projectId) {
      const now = new Date().toISOString();
      const build: Build = {
        build_id: buildId,
        project_id: projectId,
        status: "stopped",
        started_at: now,
        finished_at: now,
        exit_code: null,
        error: "Stopped before it started",
        size_bytes: null,
        docker_engine: null,
      };
      this.builds.set(buildId, { build, request: null, log: new MockLog() });
      this.publish({ type: "build", build: { ...build } });
      return { ...build };
    }
    if (!found) return null;
    if (found.build.status === "running") this.settle(found, { status: "stopped", exit_code: null, error: null });
    return { ...found.build };
  }

  /** Every golden this host holds, as `GET /v1/goldens` lists them. */
  listGoldens(): components["schemas"]["GoldenList"] {
    const goldens = [...this.goldens.values()];
    const used = goldens.reduce((sum, golden) => sum + golden.size_bytes, 0);
    return { goldens, used_bytes: used, quota_bytes: null, disk_free_bytes: 100 * 1024 ** 3 };
  }

  getGolden(projectId: string): GoldenInfo {
    return (
      this.goldens.get(projectId) ?? {
        project_id: projectId,
        exists: false,
        size_bytes: 0,
        built_at: null,
        build_id: null,
        last_used_at: null,
        docker_engine: null,
        unusable: null,
      }
    );
  }

  deleteGolden(projectId: string): void {
    this.replications.cancel(projectId);
    const golden = this.goldens.get(projectId);
    if (!golden) return;
    this.goldens.delete(projectId);
    this.publish({ type: "golden", reason: "deleted", golden: this.getGolden(projectId), detail: null });
  }

  logText(buildId: string): string | null {
    return this.builds.get(buildId)?.log.toString() ?? null;
  }

  /** The build's log from the start; when following, new output until the build ends. */
  logStream(buildId: string, follow: boolean): ReadableStream<Uint8Array> | null {
    const found = this.builds.get(buildId);
    if (!found) return null;
    return found.log.stream(follow, () => found.build.status === "running" && this.builds.has(buildId));
  }

  subscribe(listener: (event: SequencedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private streamEnders = new Set<() => void>();

  /** `end` is called when the sandbox restarts: an open event stream ends then. */
  onRestart(end: () => void): () => void {
    this.streamEnders.add(end);
    return () => this.streamEnders.delete(end);
  }

  /**
   * Restarts as a real sandbox does to take a new configuration (its Docker daemons, say): every
   * open event stream ends, and a client reconnects and asks again what the sandbox offers.
   */
  restart(): void {
    for (const end of [...this.streamEnders]) end();
  }

  /** Events after `lastId`, or null when they cannot be told and the client must re-sync. */
  eventsSince(lastId: number): SequencedEvent[] | null {
    const oldest = this.held[0]?.id ?? this.nextEventId;
    if (lastId < oldest - 1 || lastId >= this.nextEventId) return null;
    return this.held.filter((e) => e.id > lastId);
  }

  // --- controls for tests ---

  allBuilds(): Build[] {
    return [...this.builds.values()].map((b) => ({ ...b.build }));
  }

  /** The newest build of a project, running or not. */
  latestBuild(projectId: string): Build | null {
    const all = [...this.builds.values()].filter((b) => b.build.project_id === projectId);
    const last = all[all.length - 1];
    return last ? { ...last.build } : null;
  }

  /** What the BFF asked for when it started the build. */
  buildRequest(buildId: string): StartBuildRequest | null {
    return this.builds.get(buildId)?.request ?? null;
  }

  emitLog(buildId: string, text: string): void {
    const found = this.requireBuild(buildId);
    found.log.append(text);
  }

  /** Ends a running build as its startup script would: exit 0 promotes, anything else fails. */
  finishBuild(buildId: string, options: FinishOptions = {}): Build {
    const found = this.requireBuild(buildId);
    if (found.build.status !== "running") {
      throw new MockSandboxError(409, "build_not_running", `Build ${buildId} is ${found.build.status}`);
    }
    const exitCode = options.exitCode ?? 0;
    const status = options.status ?? (exitCode === 0 ? "succeeded" : "failed");
    if (status === "succeeded") {
      const size = options.sizeBytes ?? defaultSizeBytes;
      const finishedAt = new Date().toISOString();
      const golden: GoldenInfo = {
        project_id: found.build.project_id,
        exists: true,
        size_bytes: size,
        built_at: finishedAt,
        build_id: buildId,
        last_used_at: null,
        docker_engine: found.build.docker_engine,
        unusable: null,
      };
      this.goldens.set(found.build.project_id, golden);
      this.publish({ type: "golden", reason: "promoted", golden, detail: null });
      this.settle(found, { status, exit_code: 0, error: null, size_bytes: size, finished_at: finishedAt });
    } else {
      const error =
        options.error ??
        (status === "interrupted"
          ? "Build interrupted by sandbox restart"
          : `Startup script exited with code ${exitCode}`);
      this.settle(found, { status, exit_code: status === "failed" ? exitCode : null, error });
    }
    return { ...found.build };
  }

  /** A golden that exists without a build of this run, e.g. from before a restart. */
  setGolden(projectId: string, sizeBytes: number, buildId = "bld_previous"): void {
    this.goldens.set(projectId, {
      project_id: projectId,
      exists: true,
      size_bytes: sizeBytes,
      built_at: new Date().toISOString(),
      build_id: buildId,
      last_used_at: null,
      docker_engine: null,
      unusable: null,
    });
  }

  /** Evicts the project's golden as the sandbox does to stay within its quota. */
  evictGolden(projectId: string, detail = "Evicted to free disk space"): void {
    if (!this.goldens.delete(projectId)) return;
    this.publish({ type: "golden", reason: "evicted", golden: this.getGolden(projectId), detail });
  }

  /** The daemon a run starting now gets: the engine's, rootless or a root one, or none. */
  engineUsed(): Build["docker_engine"] {
    return this.docker.available ? { ...mockDockerEngine, rootless: this.docker.rootless === true } : null;
  }

  /** Throws the real service's 503, in its words, while this sandbox refuses runs. */
  private refuseRuns(): void {
    if (!this.docker.refuses_runs) return;
    throw new MockSandboxError(503, "runs_refused", `This sandbox refuses runs: ${this.docker.detail}`);
  }

  private settle(found: MockBuild, patch: Partial<Build>): void {
    Object.assign(found.build, { finished_at: new Date().toISOString() }, patch);
    this.publish({ type: "build", build: { ...found.build } });
    found.log.wake();
  }

  private runningBuild(projectId: string): Build | null {
    for (const { build } of this.builds.values()) {
      if (build.project_id === projectId && build.status === "running") return build;
    }
    return null;
  }

  private requireBuild(buildId: string): MockBuild {
    const found = this.builds.get(buildId);
    if (!found) throw new MockSandboxError(404, "build_not_found", `No build ${buildId}`);
    return found;
  }

  private publish(event: SandboxEvent): void {
    const sequenced = { id: this.nextEventId++, event };
    this.held.push(sequenced);
    if (this.held.length > 1000) this.held.shift();
    for (const listener of this.listeners) listener(sequenced);
  }
}
