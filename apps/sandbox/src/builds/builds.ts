// Golden builds on this host: start, follow, stop, and recovery after a restart. A build's
// lifecycle is a script run's (script-runs.ts); what is a build's own is here: its Docker
// directory starts as a copy of the golden, and a script that exits 0 is promoted.
// Invariants: at most one build runs per project; only a build whose startup script exited 0 is
// promoted (promote.ts keeps the golden whole); script-runs.ts keeps the rest (a final status
// exactly once, the work directory always removed, no stop slipping past a start).
import { mkdir, open, readdir, rm } from "node:fs/promises";
import type { components } from "@prewarm/api-types/sandbox";
import { formatDuration } from "@prewarm/service-kit/duration";
import { ProblemError } from "@prewarm/service-kit/problem";
import prettyBytes from "pretty-bytes";
import type { DockerDaemons } from "../docker/docker-daemon.ts";
import type { EventBus } from "../events/event-bus.ts";
import { planCopy } from "../fs/copy-plan.ts";
import { copyTree } from "../fs/copy-tree.ts";
import { diskFreeBytes, isDiskFull } from "../fs/disk.ts";
import { removeTree } from "../fs/durable.ts";
import { readCurrentGeneration, readGenerationMeta } from "../golden/generations.ts";
import type { GoldenQuota } from "../golden/golden-quota.ts";
import type { Goldens } from "../golden/goldens.ts";
import { type PromoteDeps, promote } from "../golden/promote.ts";
import type { Spares } from "../golden/spares.ts";
import type { Logger } from "../logger.ts";
import { measuredCopy } from "../metrics.ts";
import type { RunPolicy } from "./run-jail.ts";
import { readRunRecord, type ScriptRun, ScriptRuns, writeRunRecord } from "./script-runs.ts";
import { describeExit, killLeftovers, type ScriptExit } from "./startup-script-process.ts";

type Build = components["schemas"]["Build"];
export type StartBuildRequest = components["schemas"]["StartBuildRequest"];

interface BuildRecord {
  build: Build;
  /** Process group of the startup script while it runs, so recovery can end it. */
  pid: number | null;
}

interface BuildsDeps extends PromoteDeps {
  daemons: DockerDaemons;
  policy: RunPolicy;
  goldens: Goldens;
  quota: GoldenQuota;
  spares: Spares;
  bus: EventBus;
  logger: Logger;
  stopGraceMs: number;
}

/** Below this much free space after a failed script, the disk filling up is the likely cause. */
const nearlyFullBytes = 16 * 1024 * 1024;
const diskFullMessage =
  "The sandbox ran out of disk space during the build (no space left on device); the previous golden is untouched";

const say = (text: string) => `\x1b[1;36m==> ${text}\x1b[0m\r\n`;
const steps = {
  checkout: (branch: string) => `Checking out ${branch}`,
  script: () => "Running the startup script",
};
const warn = (text: string) => `\x1b[1;31m==> ${text}\x1b[0m\r\n`;

export class Builds {
  private readonly deps: BuildsDeps;
  private readonly runs: ScriptRuns<Build>;
  private readonly runningByProject = new Map<string, string>();
  /** Succeeded builds' removal of the generation they replaced, done once their end is told. */
  private readonly retirements = new Map<string, () => Promise<void>>();

  constructor(deps: BuildsDeps) {
    this.deps = deps;
    const { layout, bus, logger } = deps;
    this.runs = new ScriptRuns<Build>({
      name: "build",
      idField: "buildId",
      logger,
      stopGraceMs: deps.stopGraceMs,
      daemons: deps.daemons,
      policy: deps.policy,
      root: layout.root,
      say,
      paths: {
        dir: (id) => layout.buildDir(id),
        record: (id) => layout.buildRecordPath(id),
        log: (id) => layout.buildLogPath(id),
        daemonLog: (id) => layout.buildDaemonLogPath(id),
        workspace: (id) => layout.buildWorkspaceDir(id),
        script: (id) => layout.buildScriptPath(id),
        tmp: (id) => layout.buildTmpDir(id),
      },
      record: (run): BuildRecord => ({ build: run.view, pid: run.pid }),
      // The same build sent twice is told apart from another build of the project: the BFF sends
      // again after a crash, and must learn that the sandbox has it.
      exists: (id) => new ProblemError(409, "build_exists", `A build with ID ${id} already exists`),
      started: (run) => bus.publish({ type: "build", build: run.view }),
      prepare: (run) => this.prepare(run),
      announce: (run, step) => run.write(say(steps[step](run.request.branch ?? "main"))),
      finish: (run, exit, dockerDir) => this.finish(run, exit, dockerDir),
      fail: (run, error) => this.fail(run, error),
      dispose: (run) => removeTree(layout.buildDir(run.id)),
      release: (run) => this.runningByProject.delete(run.view.project_id),
      ended: async (run) => {
        const build = run.view;
        bus.publish({ type: "build", build });
        logger.info({ buildId: run.id, projectId: build.project_id, status: build.status }, "build ended");
        // The success is told first; removing the previous generation can take a while.
        const retire = this.retirements.get(run.id);
        this.retirements.delete(run.id);
        await retire?.().catch((error) =>
          logger.error({ buildId: run.id, error: String(error) }, "could not remove the previous generation"),
        );
      },
    });
  }

  async start(request: StartBuildRequest): Promise<Build> {
    const run = await this.runs.start({
      id: request.build_id,
      request,
      admit: async () => this.admit(request),
      env: (dockerDir) => ({ dockerDir, projectId: request.project_id, buildId: request.build_id }),
      timeoutSeconds: request.timeout_seconds ?? 1800,
      user: request.run_user,
    });
    return run.view;
  }

  /** The project's one build: refused while another runs, claimed before anything is awaited. */
  private admit(request: StartBuildRequest): Build {
    const existing = this.runningByProject.get(request.project_id);
    if (existing) {
      throw new ProblemError(409, "build_running", `Build ${existing} is already running for this project`);
    }
    this.runningByProject.set(request.project_id, request.build_id);
    return {
      build_id: request.build_id,
      project_id: request.project_id,
      status: "running",
      started_at: new Date().toISOString(),
      finished_at: null,
      exit_code: null,
      error: null,
      size_bytes: null,
      docker_engine: null,
    };
  }

  async get(buildId: string): Promise<Build> {
    const running = this.runs.get(buildId);
    if (running) return running.view;
    const record = await this.readRecord(buildId);
    if (!record) throw new ProblemError(404, "build_not_found", `No build ${buildId}`);
    return record.build;
  }

  /** Forgets an ended build: its record and its log. Idempotent. */
  async remove(buildId: string): Promise<void> {
    if (this.runs.get(buildId)) {
      throw new ProblemError(409, "build_running", `Build ${buildId} is running; stop it first`);
    }
    await rm(this.deps.layout.buildRecordPath(buildId), { force: true });
    await rm(this.deps.layout.buildLogPath(buildId), { force: true });
    await rm(this.deps.layout.buildDaemonLogPath(buildId), { force: true });
  }

  /**
   * Ends the build's processes (TERM, then KILL after the grace period) and waits for its end.
   * A build this service has never seen is recorded as stopped when the caller names its
   * project, so that if the request to start it arrives later, it is refused: whoever stops a
   * build it sent (or may have sent) can rely on it never running.
   */
  async stop(buildId: string, projectId?: string): Promise<Build> {
    return this.runs.stop(buildId, async () => {
      const record = await this.readRecord(buildId);
      if (record) return record.build;
      if (!projectId) throw new ProblemError(404, "build_not_found", `No build ${buildId}`);
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
      await this.writeRecord({ build, pid: null });
      this.deps.bus.publish({ type: "build", build });
      return build;
    });
  }

  /** Resolves when the build has ended (at once if it is not running). */
  ended(buildId: string): Promise<void> {
    return this.runs.ended(buildId);
  }

  async log(buildId: string, offset: number, follow: boolean): Promise<ReadableStream<Uint8Array>> {
    await this.get(buildId);
    return this.runs.log(buildId, offset, follow);
  }

  /** Stops every running build, for a clean shutdown. */
  async stopAll(): Promise<void> {
    await this.runs.stopAll();
  }

  /**
   * After a restart, nothing is running: a build whose record still says `running` was
   * interrupted. If its promotion had completed, the golden pointer names it and it succeeded;
   * otherwise it is `interrupted`, its log kept and its work directory removed. Any process
   * group it left behind is ended.
   */
  async recover(): Promise<Build[]> {
    const { layout } = this.deps;
    const settled: Build[] = [];
    const names = await readdir(layout.recordsDir).catch(() => [] as string[]);
    for (const name of names) {
      if (!name.endsWith(".json") || name.startsWith(".")) continue;
      const record = await this.readRecord(name.slice(0, -".json".length)).catch(() => null);
      if (record?.build.status !== "running") continue;
      await killLeftovers(record.build.build_id);
      const { build } = record;
      const current = await readCurrentGeneration(layout, build.project_id);
      if (current === build.build_id) {
        const meta = await readGenerationMeta(layout, build.project_id, current);
        Object.assign(build, {
          status: "succeeded",
          exit_code: 0,
          size_bytes: meta.size_bytes,
          finished_at: meta.built_at,
        });
      } else {
        Object.assign(build, {
          status: "interrupted",
          error: "Build interrupted by sandbox restart",
          finished_at: new Date().toISOString(),
        });
      }
      await this.writeRecord({ build, pid: null });
      settled.push(build);
    }
    for (const entry of await readdir(layout.buildsDir).catch(() => [] as string[])) {
      await removeTree(`${layout.buildsDir}/${entry}`);
    }
    for (const entry of await readdir(layout.tmpDir).catch(() => [] as string[])) {
      await removeTree(`${layout.tmpDir}/${entry}`);
    }
    return settled;
  }

  /** The build's Docker directory: a copy of the current golden, or empty without one. */
  private async prepare(run: ScriptRun<Build>): Promise<string> {
    const { layout, goldens, spares } = this.deps;
    const projectId = run.view.project_id;
    const dockerDir = layout.buildDockerDir(run.id);
    await mkdir(layout.buildGenerationDir(run.id), { recursive: true });
    const { golden: pinned, unusable } = await goldens.pinCurrent(projectId);
    try {
      if (unusable) {
        await run.write(warn(`${unusable}: starting from an empty Docker directory; this build replaces it`));
        await mkdir(dockerDir);
      } else if (pinned) {
        await run.write(say(`Starting from the current golden (${prettyBytes(pinned.meta.size_bytes)})`));
        const started = performance.now();
        if (await spares.take(projectId, pinned.meta.build_id, dockerDir)) {
          await run.write(say("Took a ready copy of it"));
        } else {
          await measuredCopy("build", () =>
            copyTree(pinned.dockerDir, dockerDir, { signal: run.signal, plan: pinned.plan ?? undefined }),
          );
          await run.write(say(`Copied in ${((performance.now() - started) / 1000).toFixed(1)} s`));
        }
      } else {
        await run.write(say("No golden yet: starting from an empty Docker directory"));
        await mkdir(dockerDir);
      }
    } finally {
      await pinned?.release();
    }
    return dockerDir;
  }

  /** Exit 0: the Docker directory becomes the project's golden. Anything else fails the build. */
  private async finish(run: ScriptRun<Build>, exit: ScriptExit, dockerDir: string): Promise<Partial<Build>> {
    const { layout, goldens, quota, spares, bus, daemons } = this.deps;
    const projectId = run.view.project_id;
    if (exit.code !== 0) {
      // A script that fails because the disk filled up is told so, not just its exit code.
      const full =
        (await diskFreeBytes(layout.root).catch(() => Number.POSITIVE_INFINITY)) < nearlyFullBytes ||
        (await logTail(layout.buildLogPath(run.id))).includes("No space left on device");
      const error = full ? diskFullMessage : describeExit(exit.code, exit.signal);
      await run.write(warn(error));
      return { status: "failed", exit_code: exit.code, error };
    }
    await run.write(say("Startup script succeeded"));
    // The next session's daemon must open what is promoted: try it now, as it will.
    const opened = await daemons.verify(`build:${run.id}`, dockerDir, layout.buildDaemonLogPath(run.id), run.jail);
    if (opened) {
      await run.write(say(`A new Docker daemon opens it without an error (${opened.storage_driver})`));
    }
    await run.write(say("Measuring and promoting the Docker directory"));
    // One walk measures the golden and plans every later copy of it.
    const plan = await planCopy(dockerDir);
    const size = plan.totalBytes;
    const meta = { build_id: run.id, built_at: new Date().toISOString(), size_bytes: size, docker_engine: opened };
    const promotion = await quota.admit(projectId, size, () => promote(this.deps, projectId, meta, { plan }));
    this.retirements.set(run.id, promotion.retirePrevious);
    spares.refill(projectId);
    bus.publish({ type: "golden", reason: "promoted", golden: await goldens.info(projectId), detail: null });
    await run.write(say(`Promoted: the golden is now ${prettyBytes(size)}`));
    return { status: "succeeded", exit_code: 0, size_bytes: size };
  }

  private async fail(run: ScriptRun<Build>, error: unknown): Promise<Partial<Build>> {
    if (run.stopReason === "stop") {
      await run.write(warn("Build stopped"));
      return { status: "stopped", error: null };
    }
    if (run.stopReason === "shutdown") {
      // Like a crash, but the run's daemon and processes were ended cleanly; the golden is untouched.
      const message = "Build interrupted: the sandbox was shut down";
      await run.write(warn(message));
      return { status: "interrupted", error: message };
    }
    if (run.stopReason === "timeout") {
      const message = `Build timed out after ${formatDuration(run.timeoutSeconds ?? 0)}`;
      await run.write(warn(message));
      return { status: "failed", error: message };
    }
    if (run.stopReason === "disk") {
      const message = `Build stopped: ${run.diskOverrun}; the previous golden is untouched`;
      await run.write(warn(message));
      return { status: "failed", error: message };
    }
    const message = isDiskFull(error) ? diskFullMessage : error instanceof Error ? error.message : String(error);
    this.deps.logger.warn({ buildId: run.id, error: String(error) }, "build failed");
    await run.write(warn(message));
    return { status: "failed", error: message };
  }

  private async readRecord(buildId: string): Promise<BuildRecord | null> {
    return readRunRecord<BuildRecord>(this.deps.layout.buildRecordPath(buildId));
  }

  private async writeRecord(record: BuildRecord): Promise<void> {
    await writeRunRecord(this.deps.layout.buildRecordPath(record.build.build_id), record);
  }
}

/** The end of a build's log, where a failing tool's last words are. */
async function logTail(file: string, bytes = 16 * 1024): Promise<string> {
  const handle = await open(file, "r").catch(() => null);
  if (!handle) return "";
  try {
    const { size } = await handle.stat();
    const buffer = Buffer.alloc(Math.min(bytes, size));
    await handle.read(buffer, 0, buffer.length, size - buffer.length);
    return buffer.toString("utf8");
  } finally {
    await handle.close();
  }
}
