// The lifecycle of a run of a project's startup script, one for both kinds of run: a golden build
// (builds.ts) and a test session (sessions/test-sessions.ts). Each kind says only what it does
// its own way (RunKind); the order of the steps, stopping, timing out and ending are kept here.
// Invariants:
// 1. A start checks and registers its run under the run ID's lock, and a stop of an ID with no
//    run here takes the same lock, so a stop can never slip between a start's checks and its
//    registration.
// 2. A run's record reaches a final status exactly once. A stop or a timeout only gives a reason
//    and ends what is running (the abort signal reaches copies and checkouts, `terminate` the
//    script's process group); the outcome is set after the clean-up, written once, and only then
//    is the run's end told to whoever waits for it.
// 3. Whatever happens, the kind's `dispose` runs (in a `finally`): the run's work directory and
//    Docker directory are removed; its record and log stay.
// 4. A run's Docker daemon (docker/docker-daemon.ts) is started in one place, `runScript` below,
//    on the run's Docker directory just before the script, and stopped in a `finally` around it,
//    so it is down (or the run failed saying why) before `finish` promotes the directory and
//    before `dispose` removes it.
// 5. Where the service is root, nothing of the run runs as root: the script and its daemon are
//    the project's user (run-user.ts) in the run's jail (run-jail.ts), which is opened once the
//    run's directories are the user's and closed, ending every process of the run, before
//    `dispose`. While it runs, its disk is measured; a run past its share is stopped saying so.
import { chmod, chown, type FileHandle, mkdir, open, readFile } from "node:fs/promises";
import path from "node:path";
import type { components } from "@prewarm/api-types/sandbox";
import { ProblemError } from "@prewarm/service-kit/problem";
import prettyBytes from "pretty-bytes";
import type { DockerDaemons, DockerEngineUsed, RunDaemon } from "../docker/docker-daemon.ts";
import { diskUsedBytes } from "../fs/disk.ts";
import { removeTree, writeFileAtomic } from "../fs/durable.ts";
import { heldDeletedBytes } from "../fs/held-files.ts";
import { KeyedLocks } from "../golden/golden-locks.ts";
import type { Logger } from "../logger.ts";
import { runsEnded } from "../metrics.ts";
import { streamLog } from "./build-log.ts";
import { checkout } from "./checkout.ts";
import { chownTree, passable } from "./run-files.ts";
import { RunJail, type RunPolicy } from "./run-jail.ts";
import { ensureRunUser } from "./run-user.ts";
import {
  type ScriptCommand,
  type ScriptEnv,
  type ScriptExit,
  scriptEnvironment,
  startStartupScript,
} from "./startup-script-process.ts";

type RunUser = components["schemas"]["RunUser"];

/**
 * A stop asked for, a timeout, the run past its share of disk, or the service shutting down (the
 * run is then interrupted, not stopped).
 */
type StopReason = "stop" | "timeout" | "disk" | "shutdown";

/** Open files and mappings a run's disk measure looks through at most; a run holding more is stopped. */
const maxHeldEntries = 200_000;

/** What the lifecycle sets in a run's view, the Build or TestSession of the contract. */
interface RunView {
  status: string;
  finished_at: string | null;
  docker_engine: DockerEngineUsed | null;
}

/** What every request to start a run carries, in the contract's words. */
interface RunRequest {
  startup_script: string;
  repository_url?: string | null;
  branch?: string;
}

/** What a kind of run does its own way, in the order the lifecycle asks. */
interface RunKind<S extends RunView> {
  /** Its name and its ID's field in the service's log: "build" and "buildId". */
  name: string;
  idField: string;
  logger: Logger;
  stopGraceMs: number;
  /** The runs' Docker daemons (where the host has no engine, they say why runs get none). */
  daemons: DockerDaemons;
  /** How every run is isolated and bounded here. */
  policy: RunPolicy;
  /** The service's root: where it lies under /tmp, the jail keeps it reachable. */
  root: string;
  /** A line of the service's own in the run's log, in the kind's style. */
  say: (text: string) => string;
  /** Where a run lives (layout.ts); `dir` is made when the run registers. */
  paths: Record<"dir" | "record" | "log" | "daemonLog" | "workspace" | "script" | "tmp", (id: string) => string>;
  /** The record as stored: the run's view and whatever else the kind keeps. */
  record(run: ScriptRun<S>): unknown;
  /** The refusal of a second run under an ID that has run, or runs. */
  exists(id: string): ProblemError;
  /** Registered and recorded, about to run. */
  started?(run: ScriptRun<S>): void;
  /** Makes the run's Docker directory and returns its path. */
  prepare(run: ScriptRun<S>): Promise<string>;
  /** Says in the run's log that a step begins, where the kind says so. */
  announce?(run: ScriptRun<S>, step: "checkout" | "script"): Promise<void>;
  /** The outcome of a script that ran to its end and was not stopped (a build promotes here). */
  finish(run: ScriptRun<S>, exit: ScriptExit, dockerDir: string): Promise<Partial<S>>;
  /** The outcome of a run stopped, timed out (`run.stopReason`) or failed on the way; never throws. */
  fail(run: ScriptRun<S>, error: unknown): Promise<Partial<S>>;
  /** Removes what the run made but its record and log, whatever happened. */
  dispose(run: ScriptRun<S>): Promise<void>;
  /** Frees what the kind claimed for the run, in the same tick as its outcome is set. */
  release?(run: ScriptRun<S>): void;
  /** After the outcome is written; the run's end is told once this is done. */
  ended?(run: ScriptRun<S>): Promise<void>;
}

interface RunStart<S extends RunView> {
  id: string;
  request: RunRequest;
  /** Checks that the run may start, throwing a problem if not, and returns its first view. */
  admit: () => Promise<S>;
  env: (dockerDir: string) => ScriptEnv;
  timeoutSeconds: number | null;
  /** The project's own user, as the BFF numbered it. */
  user: RunUser;
}

/** One run, while this service runs it. */
export class ScriptRun<S extends RunView> {
  private readonly kind: RunKind<S>;
  private readonly start: RunStart<S>;
  /** What the contract shows of the run, its Build or TestSession, kept up to date. */
  readonly view: S;
  stopReason: StopReason | null = null;
  /** With the "disk" stop reason: what the run wrote, and its share. */
  diskOverrun: string | null = null;
  /** The script's process group while it runs. */
  pid: number | null = null;
  /** The run's jail from its script's start to its end; null where projects are not isolated. */
  jail: RunJail | null = null;
  readonly ended: Promise<void>;
  private readonly abort = new AbortController();
  private terminateScript: (() => void) | null = null;
  private log: FileHandle | null = null;
  private tellEnded!: () => void;

  constructor(kind: RunKind<S>, start: RunStart<S>, view: S) {
    this.kind = kind;
    this.start = start;
    this.view = view;
    this.ended = new Promise((resolve) => {
      this.tellEnded = resolve;
    });
  }

  get id(): string {
    return this.start.id;
  }

  get request(): RunRequest {
    return this.start.request;
  }

  get user(): RunUser {
    return this.start.user;
  }

  get timeoutSeconds(): number | null {
    return this.start.timeoutSeconds;
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Appends the service's own words to the run's log. */
  async write(text: string): Promise<void> {
    await this.log?.write(text).catch(() => undefined);
  }

  async save(): Promise<void> {
    await writeRunRecord(this.kind.paths.record(this.id), this.kind.record(this));
  }

  stop(reason: StopReason): void {
    this.stopReason ??= reason;
    this.abort.abort();
    this.terminateScript?.();
  }

  /** The run from its preparation to its end; `forget` unregisters it once its outcome is written. */
  async execute(forget: () => void): Promise<void> {
    const { kind } = this;
    const { timeoutSeconds } = this;
    const timer = timeoutSeconds === null ? undefined : setTimeout(() => this.stop("timeout"), timeoutSeconds * 1000);
    let outcome: Partial<S>;
    let watch: (() => void) | undefined;
    try {
      this.log = await open(kind.paths.log(this.id), "a");
      const dockerDir = await kind.prepare(this);
      watch = this.watchDisk([kind.paths.dir(this.id), dockerDir]);
      const exit = await this.runScript(dockerDir, this.log.fd);
      watch();
      outcome = await kind.finish(this, exit, dockerDir);
    } catch (error) {
      outcome = await kind.fail(this, error);
    } finally {
      clearTimeout(timer);
      watch?.();
      await this.jail?.close().catch((error) => this.complain(`could not end the ${kind.name}'s processes`, error));
      await this.log?.close().catch(() => undefined);
      await kind.dispose(this).catch((error) => this.complain(`could not clean up after ${kind.name}`, error));
    }
    // The kind's claims go in the tick the final status appears: whoever reads it (an event, or
    // a GET while the record is written) may start the next run at once.
    kind.release?.(this);
    Object.assign(this.view, outcome, { finished_at: new Date().toISOString() });
    runsEnded.inc({ kind: kind.name === "build" ? "build" : "test_session", outcome: this.view.status });
    this.pid = null;
    await this.save().catch((error) => this.complain(`could not record ${kind.name} outcome`, error));
    forget();
    await kind.ended?.(this);
    this.tellEnded();
  }

  /** Checks out the branch, then runs the script to its end. */
  private async runScript(dockerDir: string, logFd: number): Promise<ScriptExit> {
    const { paths } = this.kind;
    const workspace = paths.workspace(this.id);
    this.throwIfStopping();
    await this.kind.announce?.(this, "checkout");
    await checkout({
      repositoryUrl: this.request.repository_url,
      branch: this.request.branch ?? "main",
      workspace,
      logFd,
      signal: this.signal,
    });
    this.throwIfStopping();
    await writeFileAtomic(paths.script(this.id), this.request.startup_script, 0o700);
    this.jail = await this.isolate(dockerDir);
    const daemon = await this.startDaemon(dockerDir);
    try {
      this.throwIfStopping();
      await this.kind.announce?.(this, "script");
      const env = { ...this.start.env(dockerDir), docker: daemon && { host: daemon.host, binDir: daemon.binDir } };
      const script = startStartupScript({
        command: this.scriptCommand(env, daemon),
        logFd,
        buildId: env.buildId,
        stopGraceMs: this.kind.stopGraceMs,
      });
      if (script.pid !== undefined) {
        this.pid = script.pid;
        await this.save();
      }
      this.terminateScript = script.terminate;
      if (this.stopReason) script.terminate();
      const exit = await script.exited;
      this.throwIfStopping();
      return exit;
    } finally {
      this.terminateScript = null;
      try {
        // Throws when the daemon would not stop cleanly: the run fails with why, nothing is promoted.
        await daemon?.stop();
      } finally {
        await this.jail?.endStrays();
      }
    }
  }

  /** The run's daemon, recorded in its view and its log; null (and why, in the log) without one. */
  private async startDaemon(dockerDir: string): Promise<RunDaemon | null> {
    const { daemons, paths, name, say } = this.kind;
    const { available, detail } = daemons.availability();
    if (!available) {
      await this.write(say(`No Docker daemon for this run: ${detail}`));
      return null;
    }
    await this.write(say(`Starting a Docker daemon on the ${name}'s Docker directory`));
    const daemon = await daemons.start(`${name}:${this.id}`, dockerDir, paths.daemonLog(this.id), this.jail);
    if (daemon) {
      this.view.docker_engine = daemon.used;
      await this.save();
      const mode = daemon.used.rootless ? "rootless" : "as root, which the operator allows";
      await this.write(say(`Docker ${daemon.used.version} (${daemon.used.storage_driver}, ${mode}) is up`));
    }
    return daemon;
  }

  /**
   * Where projects are isolated: makes the project's user, gives it the run's workspace, script
   * and Docker directory (the directories above them only passable), and opens the run's jail.
   */
  private async isolate(dockerDir: string): Promise<RunJail | null> {
    const { policy, paths, root, daemons, say } = this.kind;
    if (!policy.isolated) return null;
    const name = await ensureRunUser(this.user);
    const user = { uid: this.user.uid, gid: this.user.uid };
    const tmp = paths.tmp(this.id);
    await mkdir(path.join(tmp, "home"), { recursive: true });
    await chmod(tmp, 0o1777);
    await chownTree(path.join(tmp, "home"), user);
    await chownTree(paths.workspace(this.id), user);
    // The user's own, and no one else's, whatever umask made them.
    await chmod(paths.workspace(this.id), 0o700);
    await chmod(path.join(tmp, "home"), 0o700);
    await chown(paths.script(this.id), user.uid, user.gid);
    await chown(dockerDir, user.uid, user.gid);
    for (const target of [paths.workspace(this.id), dockerDir, tmp]) await passable(target, root, user.gid);
    // Outbound access goes through a rootless daemon's slirp4netns, which hides the host's
    // loopback; a run without one would be on the host's own network, so it gets none.
    const network = policy.network === "outbound" && daemons.availability().rootless === true ? "outbound" : "none";
    const jail = await RunJail.open({
      user,
      network,
      limits: policy.limits,
      tmpDir: tmp,
      keep: [root, await daemons.prepareBase()],
    });
    const reach = network === "none" ? "no network" : "outbound network, not the host's loopback";
    await this.write(say(`Running as ${name}, the project's own user (${reach})`));
    return jail;
  }

  /**
   * The script's command: inside its rootless daemon (as that daemon's user), else in its jail,
   * else (no jail and no daemon: the service is not root) as the service's user.
   */
  private scriptCommand(env: ScriptEnv, daemon: RunDaemon | null): ScriptCommand {
    const script = ["/bin/bash", this.kind.paths.script(this.id)];
    const workspace = this.kind.paths.workspace(this.id);
    const outer = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" };
    // A jail's script has a home of its own; the service's user keeps its own home.
    const own = scriptEnvironment(env, this.jail ? "/tmp/home" : undefined);
    if (daemon?.enter) return { argv: daemon.enter(own, script, workspace), env: outer, cwd: "/" };
    if (this.jail) return { argv: this.jail.asUser(script, own, { cwd: workspace }), env: outer, cwd: "/" };
    return { argv: script, env: own, cwd: workspace };
  }

  /**
   * Measures what the run has written every `diskCheckMs` (what its directories hold beyond what
   * they held when it started, its log included, and what its processes deleted but keep open or
   * mapped)
   * and stops it once that is past its share; returns how to stop measuring.
   */
  private watchDisk(paths: string[]): () => void {
    const { diskLimitBytes, diskCheckMs } = this.kind.policy;
    if (diskLimitBytes === null) return () => undefined;
    const measured = [...paths, this.kind.paths.log(this.id)];
    // The copy of the golden it starts from is not what it wrote.
    const baseline = diskUsedBytes(measured);
    let measuring = false;
    const timer = setInterval(async () => {
      if (measuring || this.stopReason) return;
      measuring = true;
      try {
        // What its processes deleted but keep open or mapped still takes disk, where du cannot see it.
        const held = this.jail ? await heldDeletedBytes(await this.jail.processes(), maxHeldEntries) : { bytes: 0 };
        if (held.tooMany !== undefined) {
          this.overrun(
            `It holds ${held.tooMany} open or mapped files, more than the ${maxHeldEntries} whose ` +
              "disk use this sandbox measures",
          );
          return;
        }
        const written = (await diskUsedBytes(measured)) - (await baseline) + held.bytes;
        if (written > diskLimitBytes) {
          this.overrun(
            `It wrote ${prettyBytes(written)}, more than a run's share of disk on this sandbox ` +
              `(${prettyBytes(diskLimitBytes)})`,
          );
        }
      } catch (error) {
        this.complain("could not measure the run's disk use", error);
      } finally {
        measuring = false;
      }
    }, diskCheckMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** Stops the run for its disk use, saying why, unless it is stopping already. */
  private overrun(reason: string): void {
    if (this.stopReason) return;
    this.diskOverrun = reason;
    this.stop("disk");
  }

  private throwIfStopping(): void {
    if (this.stopReason) throw new Error("stopping");
  }

  private complain(message: string, error: unknown): void {
    this.kind.logger.error({ [this.kind.idField]: this.id, error: String(error) }, message);
  }
}

export class ScriptRuns<S extends RunView> {
  private readonly kind: RunKind<S>;
  private readonly runs = new Map<string, ScriptRun<S>>();
  private readonly locks = new KeyedLocks();

  constructor(kind: RunKind<S>) {
    this.kind = kind;
  }

  /** Registers the run and starts it in the background; answers once it is recorded. */
  async start(start: RunStart<S>): Promise<ScriptRun<S>> {
    const { paths, daemons } = this.kind;
    const { id } = start;
    const docker = daemons.availability();
    if (docker.refuses_runs) {
      throw new ProblemError(503, "runs_refused", `This sandbox refuses runs: ${docker.detail}`);
    }
    const run = await this.locks.withLock(id, async () => {
      if (this.runs.has(id) || (await readRunRecord(paths.record(id)))) throw this.kind.exists(id);
      const run = new ScriptRun(this.kind, start, await start.admit());
      this.runs.set(id, run);
      try {
        await mkdir(paths.dir(id), { recursive: true });
        await writeFileAtomic(paths.log(id), "", 0o600);
        await run.save();
      } catch (error) {
        this.runs.delete(id);
        this.kind.release?.(run);
        await removeTree(paths.dir(id));
        throw error;
      }
      return run;
    });
    this.kind.started?.(run);
    void run.execute(() => this.runs.delete(id));
    return run;
  }

  get(id: string): ScriptRun<S> | undefined {
    return this.runs.get(id);
  }

  all(): ScriptRun<S>[] {
    return [...this.runs.values()];
  }

  /**
   * Stops the run with this ID and resolves with its final view once it has ended. With no run
   * of that ID here, `otherwise` answers, under the lock a start registers under.
   */
  async stop<T>(id: string, otherwise: () => Promise<T>): Promise<S | T> {
    const running = this.runs.get(id);
    if (running) return stopRun(running);
    return this.locks.withLock<S | T>(id, () => {
      const started = this.runs.get(id);
      return started ? stopRun(started) : otherwise();
    });
  }

  /** The service is shutting down: every run ends as interrupted, as after a crash but cleanly. */
  async stopAll(): Promise<void> {
    await Promise.all(this.all().map((run) => stopRun(run, "shutdown")));
  }

  /** Resolves when the run has ended (at once if none runs under this ID). */
  ended(id: string): Promise<void> {
    return this.runs.get(id)?.ended ?? Promise.resolve();
  }

  log(id: string, offset: number, follow: boolean): ReadableStream<Uint8Array> {
    return streamLog({ path: this.kind.paths.log(id), offset, follow, ended: this.ended(id) });
  }
}

async function stopRun<S extends RunView>(run: ScriptRun<S>, reason: StopReason = "stop"): Promise<S> {
  run.stop(reason);
  await run.ended;
  return run.view;
}

/** A run's record, or null when there is none. */
export async function readRunRecord<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

export async function writeRunRecord(file: string, record: unknown): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(record)}\n`, 0o600);
}
