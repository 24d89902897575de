// Golden builds on this host: start, follow, stop, and recovery after a restart.
// Invariants: at most one build runs per project; a build's record reaches a final status
// exactly once; whatever the outcome, the build's work directory is removed and only a build
// whose startup script exited 0 is promoted (promote.ts keeps the golden whole).
import { mkdir, open, readdir, readFile, rm } from "node:fs/promises";
import type { components } from "@prewarm/api-types/sandbox";
import { formatDuration } from "@prewarm/service-kit/duration";
import { ProblemError } from "@prewarm/service-kit/problem";
import prettyBytes from "pretty-bytes";
import type { EventBus } from "../events/event-bus.ts";
import { planCopy } from "../fs/copy-plan.ts";
import { copyTree } from "../fs/copy-tree.ts";
import { diskFreeBytes, isDiskFull } from "../fs/disk.ts";
import { removeTree, writeFileAtomic } from "../fs/durable.ts";
import { readCurrentGeneration, readGenerationMeta } from "../golden/generations.ts";
import { KeyedLocks } from "../golden/golden-locks.ts";
import type { GoldenQuota } from "../golden/golden-quota.ts";
import type { Goldens } from "../golden/goldens.ts";
import { type PromoteDeps, promote } from "../golden/promote.ts";
import type { Spares } from "../golden/spares.ts";
import type { Logger } from "../logger.ts";
import { streamLog } from "./build-log.ts";
import { checkout } from "./checkout.ts";
import { describeExit, type ScriptExit, startStartupScript } from "./startup-script-process.ts";

export type Build = components["schemas"]["Build"];
export type StartBuildRequest = components["schemas"]["StartBuildRequest"];

interface BuildRecord {
  build: Build;
  /** Process group of the startup script while it runs, so recovery can end it. */
  pid: number | null;
}

interface RunningBuild {
  record: BuildRecord;
  stopReason: "stop" | "timeout" | null;
  timeoutSeconds: number;
  abort: AbortController;
  terminate: () => void;
  done: Promise<Build>;
  settle: (build: Build) => void;
}

export interface BuildsDeps extends PromoteDeps {
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
const warn = (text: string) => `\x1b[1;31m==> ${text}\x1b[0m\r\n`;

export class Builds {
  private readonly running = new Map<string, RunningBuild>();
  private readonly runningByProject = new Map<string, string>();
  private readonly buildLocks = new KeyedLocks();

  constructor(private readonly deps: BuildsDeps) {}

  async start(request: StartBuildRequest): Promise<Build> {
    const record = await this.buildLocks.withLock(request.build_id, () => this.register(request));
    this.deps.bus.publish({ type: "build", build: record.build });
    const running = this.running.get(request.build_id) as RunningBuild;
    void this.run(running, request).then(running.settle);
    return record.build;
  }

  /** Checks and records a new build; under its build ID's lock, so a stop cannot slip in. */
  private async register(request: StartBuildRequest): Promise<BuildRecord> {
    const { layout } = this.deps;
    // The same build sent twice is told apart from another build of the project: the BFF sends
    // again after a crash, and must learn that the sandbox has it.
    if (this.running.has(request.build_id) || (await this.readRecord(request.build_id))) {
      throw new ProblemError(409, "build_exists", `A build with ID ${request.build_id} already exists`);
    }
    const existing = this.runningByProject.get(request.project_id);
    if (existing) {
      throw new ProblemError(409, "build_running", `Build ${existing} is already running for this project`);
    }
    // Claim the project before the first await below, so two starts cannot both pass the check.
    this.runningByProject.set(request.project_id, request.build_id);
    const record: BuildRecord = {
      build: {
        build_id: request.build_id,
        project_id: request.project_id,
        status: "running",
        started_at: new Date().toISOString(),
        finished_at: null,
        exit_code: null,
        error: null,
        size_bytes: null,
      },
      pid: null,
    };
    let settle!: (build: Build) => void;
    const running: RunningBuild = {
      record,
      stopReason: null,
      timeoutSeconds: request.timeout_seconds ?? 1800,
      abort: new AbortController(),
      terminate: () => running.abort.abort(),
      done: new Promise<Build>((resolve) => {
        settle = resolve;
      }),
      settle: (build) => settle(build),
    };
    this.running.set(request.build_id, running);
    try {
      await mkdir(layout.buildDir(request.build_id), { recursive: true });
      await writeFileAtomic(layout.buildLogPath(request.build_id), "");
      await this.writeRecord(record);
    } catch (error) {
      this.running.delete(request.build_id);
      this.runningByProject.delete(request.project_id);
      await removeTree(layout.buildDir(request.build_id));
      throw error;
    }
    return record;
  }

  async get(buildId: string): Promise<Build> {
    const running = this.running.get(buildId);
    if (running) return running.record.build;
    const record = await this.readRecord(buildId);
    if (!record) throw new ProblemError(404, "build_not_found", `No build ${buildId}`);
    return record.build;
  }

  /** Forgets an ended build: its record and its log. Idempotent. */
  async remove(buildId: string): Promise<void> {
    if (this.running.has(buildId)) {
      throw new ProblemError(409, "build_running", `Build ${buildId} is running; stop it first`);
    }
    await rm(this.deps.layout.buildRecordPath(buildId), { force: true });
    await rm(this.deps.layout.buildLogPath(buildId), { force: true });
  }

  /**
   * Ends the build's processes (TERM, then KILL after the grace period) and waits for its end.
   * A build this service has never seen is recorded as stopped when the caller names its
   * project, so that if the request to start it arrives later, it is refused: whoever stops a
   * build it sent (or may have sent) can rely on it never running.
   */
  async stop(buildId: string, projectId?: string): Promise<Build> {
    const running = this.running.get(buildId);
    if (running) return this.stopRunning(running);
    return this.buildLocks.withLock(buildId, async () => {
      const started = this.running.get(buildId);
      if (started) return this.stopRunning(started);
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
      };
      await this.writeRecord({ build, pid: null });
      this.deps.bus.publish({ type: "build", build });
      return build;
    });
  }

  private stopRunning(running: RunningBuild): Promise<Build> {
    running.stopReason ??= "stop";
    running.terminate();
    return running.done;
  }

  /** Resolves when the build has ended (at once if it is not running). */
  ended(buildId: string): Promise<void> {
    const running = this.running.get(buildId);
    return running ? running.done.then(() => undefined) : Promise.resolve();
  }

  async log(buildId: string, offset: number, follow: boolean): Promise<ReadableStream<Uint8Array>> {
    await this.get(buildId);
    return streamLog({ path: this.deps.layout.buildLogPath(buildId), offset, follow, ended: this.ended(buildId) });
  }

  runningBuilds(): Build[] {
    return [...this.running.values()].map((r) => r.record.build);
  }

  /** Stops every running build, for a clean shutdown. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.running.keys()].map((id) => this.stop(id)));
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

  private async run(running: RunningBuild, request: StartBuildRequest): Promise<Build> {
    const { layout, goldens, logger } = this.deps;
    const { build } = running.record;
    const buildId = build.build_id;
    const log = await open(layout.buildLogPath(buildId), "a");
    const write = (text: string) => log.write(text).catch(() => undefined);
    const timeout = setTimeout(() => {
      running.stopReason ??= "timeout";
      running.terminate();
    }, running.timeoutSeconds * 1000);
    let outcome: Partial<Build>;
    let retirePrevious: (() => Promise<void>) | null = null;
    try {
      const dockerDir = layout.buildDockerDir(buildId);
      await mkdir(layout.buildGenerationDir(buildId), { recursive: true });
      const pinned = await goldens.pinCurrent(build.project_id);
      try {
        if (pinned) {
          await write(say(`Starting from the current golden (${prettyBytes(pinned.meta.size_bytes)})`));
          const started = performance.now();
          if (await this.deps.spares.take(build.project_id, pinned.meta.build_id, dockerDir)) {
            await write(say("Took a ready copy of it"));
          } else {
            await copyTree(pinned.dockerDir, dockerDir, {
              signal: running.abort.signal,
              plan: pinned.plan ?? undefined,
            });
            await write(say(`Copied in ${((performance.now() - started) / 1000).toFixed(1)} s`));
          }
        } else {
          await write(say("No golden yet: starting from an empty Docker directory"));
          await mkdir(dockerDir);
        }
      } finally {
        await pinned?.release();
      }
      this.throwIfStopping(running);
      await write(say(`Checking out ${request.branch ?? "main"}`));
      const workspace = layout.buildWorkspaceDir(buildId);
      await checkout({
        repositoryUrl: request.repository_url,
        branch: request.branch ?? "main",
        workspace,
        logFd: log.fd,
        signal: running.abort.signal,
      });
      this.throwIfStopping(running);
      await writeFileAtomic(layout.buildScriptPath(buildId), request.startup_script);
      await write(say("Running the startup script"));
      const exit = await this.runScript(running, {
        scriptPath: layout.buildScriptPath(buildId),
        workspace,
        dockerDir,
        logFd: log.fd,
      });
      this.throwIfStopping(running);
      if (exit.code !== 0) {
        // A script that fails because the disk filled up is told so, not just its exit code.
        const full =
          (await diskFreeBytes(layout.root).catch(() => Number.POSITIVE_INFINITY)) < nearlyFullBytes ||
          (await logTail(layout.buildLogPath(buildId))).includes("No space left on device");
        const error = full ? diskFullMessage : describeExit(exit.code, exit.signal);
        await write(warn(error));
        outcome = { status: "failed", exit_code: exit.code, error };
      } else {
        await write(say("Startup script succeeded; measuring and promoting the Docker directory"));
        // One walk measures the golden and plans every later copy of it.
        const plan = await planCopy(dockerDir);
        const size = plan.totalBytes;
        const builtAt = new Date().toISOString();
        const promotion = await this.deps.quota.admit(build.project_id, size, () =>
          promote(this.deps, build.project_id, { build_id: buildId, built_at: builtAt, size_bytes: size }, plan),
        );
        retirePrevious = promotion.retirePrevious;
        this.deps.spares.refill(build.project_id);
        this.deps.bus.publish({
          type: "golden",
          reason: "promoted",
          golden: await goldens.info(build.project_id),
          detail: null,
        });
        await write(say(`Promoted: the golden is now ${prettyBytes(size)}`));
        outcome = { status: "succeeded", exit_code: 0, size_bytes: size };
      }
    } catch (error) {
      if (running.stopReason === "stop") {
        await write(warn("Build stopped"));
        outcome = { status: "stopped", error: null };
      } else if (running.stopReason === "timeout") {
        const message = `Build timed out after ${formatDuration(running.timeoutSeconds)}`;
        await write(warn(message));
        outcome = { status: "failed", error: message };
      } else {
        const message = isDiskFull(error) ? diskFullMessage : error instanceof Error ? error.message : String(error);
        logger.warn({ buildId, error: String(error) }, "build failed");
        await write(warn(message));
        outcome = { status: "failed", error: message };
      }
    } finally {
      clearTimeout(timeout);
      await log.close().catch(() => undefined);
      await removeTree(layout.buildDir(buildId));
    }
    // The project is free the moment its build is seen to have ended: whoever reads the final
    // status (the event, or a GET while the record is written) may start the next build at once.
    this.runningByProject.delete(build.project_id);
    Object.assign(build, outcome, { finished_at: new Date().toISOString() });
    running.record.pid = null;
    await this.writeRecord(running.record).catch((error) =>
      logger.error({ buildId, error: String(error) }, "could not record build outcome"),
    );
    this.running.delete(buildId);
    this.deps.bus.publish({ type: "build", build });
    logger.info({ buildId, projectId: build.project_id, status: build.status }, "build ended");
    // The success is told first; removing the previous generation can take a while.
    await retirePrevious?.().catch((error) =>
      logger.error({ buildId, error: String(error) }, "could not remove the previous generation"),
    );
    return build;
  }

  private async runScript(
    running: RunningBuild,
    options: { scriptPath: string; workspace: string; dockerDir: string; logFd: number },
  ): Promise<ScriptExit> {
    const { build } = running.record;
    const script = startStartupScript({
      scriptPath: options.scriptPath,
      workspace: options.workspace,
      logFd: options.logFd,
      env: { dockerDir: options.dockerDir, projectId: build.project_id, buildId: build.build_id },
      stopGraceMs: this.deps.stopGraceMs,
    });
    if (script.pid === undefined) return script.exited;
    running.record.pid = script.pid;
    await this.writeRecord(running.record);
    running.terminate = script.terminate;
    if (running.stopReason) running.terminate();
    const exit = await script.exited;
    // Anything that left the script's process group but still carries the build's marker in
    // its environment must not outlive it either.
    await killLeftovers(build.build_id);
    running.terminate = () => running.abort.abort();
    return exit;
  }

  private throwIfStopping(running: RunningBuild): void {
    if (running.stopReason) throw new Error("stopping");
  }

  private async readRecord(buildId: string): Promise<BuildRecord | null> {
    try {
      return JSON.parse(await readFile(this.deps.layout.buildRecordPath(buildId), "utf8")) as BuildRecord;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
  }

  private async writeRecord(record: BuildRecord): Promise<void> {
    await writeFileAtomic(this.deps.layout.buildRecordPath(record.build.build_id), `${JSON.stringify(record)}\n`);
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

/**
 * Ends whatever a build of a previous run left behind: every process whose environment names
 * the build (the startup script's whole tree inherits HELIX_BUILD_ID), never anything else.
 */
async function killLeftovers(buildId: string): Promise<void> {
  const marker = `HELIX_BUILD_ID=${buildId}`;
  for (const entry of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const environ = await readFile(`/proc/${entry}/environ`, "utf8").catch(() => "");
    if (environ.split("\0").includes(marker)) {
      try {
        process.kill(Number(entry), "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  }
}
