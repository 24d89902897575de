// A run's own Docker daemon: dockerd with the run's Docker directory as its data root, its own
// containerd, exec root, socket and pid files, started before the startup script and stopped
// after it. Everything the service knows about Docker daemons is in this folder.
// A daemon is rootless (rootless-daemon.ts): the project's user in a user namespace of its own,
// inside the run's jail. Only where the host cannot run rootless daemons and the operator allows
// it (SANDBOX_ROOT_DAEMONS=allow) is it a root daemon; a host that can do neither refuses runs.
// Invariants:
// 1. A run's daemon files live in a short directory derived from the service's root and the
//    run's ID alone (a unix socket's path is limited to 108 bytes), so a restarted service finds
//    what a crashed one left: `sweep` ends every daemon of this root by its pid files, then every
//    process and mount left under the root.
// 2. `stop` resolves only when dockerd and its containerd have exited on SIGTERM, no process of
//    the run's daemon is left and nothing is mounted under its Docker directory or its files;
//    otherwise it throws a DaemonError saying why, with the daemon's last log lines. A golden is
//    never taken from a daemon that is running or was killed.
import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import {
  access,
  chmod,
  chown,
  constants,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import path from "node:path";
import type { RunJail, RunLimits } from "../builds/run-jail.ts";
import { daemonFilesProblem } from "../fs/daemon-files.ts";
import { removeTree } from "../fs/durable.ts";
import type { Logger } from "../logger.ts";
import { DaemonError, engineUsed, logTail, ping, spawnDetached, terminateChild, waitUntil } from "./daemon-process.ts";
import { rootlessProblem, startRootless } from "./rootless-daemon.ts";
import { killProcessesUnder, processesUnder, unmountUnder } from "./run-leftovers.ts";
import { namedStorageDriver, storageDriverOf, unusableReason } from "./storage-driver.ts";

/** The Docker engine's programs on this host, and the flags every daemon gets. */
export interface DockerEngine {
  dockerd: string;
  containerd: string;
  /** The client startup scripts get as `docker`, whatever else is on their PATH. */
  docker: string;
  /** Networking and storage flags; the paths of each daemon are added per run. */
  args: string[];
  /** Rootless (the project's user, in a user namespace), or root where the operator allows it. */
  mode: "rootless" | "root";
}

export type DockerSetting = "auto" | "on" | "off";

/** SANDBOX_ROOT_DAEMONS: whether a host that cannot run rootless daemons may run root ones. */
export type RootDaemons = "allow" | "refuse";

/** What runs get here: an engine, or no daemon and why, or (refuses) no runs at all. */
export interface EngineFound {
  engine: DockerEngine | null;
  reason: string | null;
  /** The host has an engine but may run no daemon: runs are refused rather than run without. */
  refuses: boolean;
}

/** Debian's docker.io; another `docker` client may come first on PATH, so paths are explicit. */
export const debianEngine = {
  dockerd: "/usr/sbin/dockerd",
  containerd: "/usr/bin/containerd",
  docker: "/usr/bin/docker",
} as const;

/** On a host with no bridge and no firewall rules to spare. */
export const defaultDaemonArgs = ["--iptables=false", "--ip6tables=false", "--bridge=none"];

/**
 * The engine runs get a daemon from, or why they get none. `on` insists: a host that cannot run
 * daemons is a configuration error there. `auto` uses the engine wherever it is installed.
 * Daemons are rootless; a host that cannot run rootless ones runs root daemons only where the
 * operator allows it, and otherwise refuses runs (never silently root).
 */
export async function findEngine(
  setting: DockerSetting,
  args: string[] = defaultDaemonArgs,
  rootDaemons: RootDaemons = "refuse",
): Promise<EngineFound> {
  if (setting === "off")
    return { engine: null, reason: "Docker daemons are turned off on this sandbox", refuses: false };
  for (const program of Object.values(debianEngine)) {
    if (!(await executable(program))) {
      const reason = `this sandbox has no Docker engine (${program} is missing; apt-get install -y docker.io)`;
      if (setting === "on") throw new Error(`SANDBOX_DOCKER=on, but ${reason}`);
      return { engine: null, reason, refuses: false };
    }
  }
  const rootless = await rootlessProblem();
  if (process.getuid?.() !== 0) {
    // An unprivileged service runs every project's daemon as its own user, rootless: its
    // subordinate IDs are what containers write as, and how it reaches their files (daemon-files.ts).
    const problem = rootless ?? (await daemonFilesProblem());
    if (problem === null) return { engine: { ...debianEngine, args, mode: "rootless" }, reason: null, refuses: false };
    const reason = `this sandbox runs as an unprivileged user and cannot run rootless Docker daemons: ${problem}`;
    if (setting === "on") throw new Error(`SANDBOX_DOCKER=on, but ${reason}`);
    return { engine: null, reason, refuses: false };
  }
  if (rootless === null) return { engine: { ...debianEngine, args, mode: "rootless" }, reason: null, refuses: false };
  if (rootDaemons === "allow") {
    return { engine: { ...debianEngine, args, mode: "root" }, reason: null, refuses: false };
  }
  const reason =
    `rootless Docker daemons cannot run on this sandbox (${rootless}), ` +
    "and root daemons are not allowed (SANDBOX_ROOT_DAEMONS=allow allows them)";
  if (setting === "on") throw new Error(`SANDBOX_DOCKER=on, but ${reason}`);
  return { engine: null, reason, refuses: true };
}

async function executable(program: string): Promise<boolean> {
  return access(program, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/** Which daemon a run had, as the contract records it. */
export interface DockerEngineUsed {
  version: string;
  storage_driver: string;
  rootless: boolean;
}

/** A run's daemon while it runs: where its API is, what it is, and how to end it. */
export interface RunDaemon {
  /** `unix://…`, for DOCKER_HOST. */
  host: string;
  used: DockerEngineUsed;
  /** A directory whose `docker` is the engine's client, to put first on the script's PATH. */
  binDir: string;
  /** Where its own files are (socket, state, the script's HOME for a rootless daemon). */
  filesDir: string;
  /**
   * How to run a command inside a rootless daemon's namespaces, as its user (the script must:
   * its files then map to IDs the daemon knows); null for a root daemon.
   */
  enter: ((env: Record<string, string>, command: string[], cwd?: string) => string[]) | null;
  stop(): Promise<void>;
}

/**
 * What dockerd 20.10 logs as errors that are no fault of the data: its containerd event stream
 * ends so at every shutdown, and on a busy host its health check may find its own containerd
 * slow to answer, kill it and start it again (a directory containerd could not open would keep
 * the daemon from answering at all, which fails the start).
 */
const knownNoise =
  /Failed to get event|stopping event stream|failed connecting to containerd|containerd did not exit successfully/;
/** How long dockerd and containerd get to exit on SIGTERM, beyond the containers' own grace. */
const stopTimeoutMs = 30_000;

function hash(text: string, length: number): string {
  return createHash("sha256").update(text).digest("hex").slice(0, length);
}

interface DaemonsOptions {
  root: string;
  /** Null where runs get no daemon; `absence` says why, and `refuses` whether runs are refused. */
  engine: DockerEngine | null;
  absence?: string | null;
  refuses?: boolean;
  logger: Logger;
  /** How long a stopping daemon's containers get between SIGTERM and SIGKILL, as a run's script does. */
  stopGraceMs: number;
  /** Where a daemon may be started on an empty directory to see which storage driver it picks. */
  scratchDir: string;
  /** Whether each project's runs are its own user in a jail (the run policy's `isolated`). */
  isolated: boolean;
  /** A run's process and open-file limits, which its rootless daemon runs under too. */
  limits: RunLimits;
}

export class DockerDaemons {
  private readonly options: DaemonsOptions;
  /** Short on purpose: every socket of every daemon of this root is under it. */
  readonly base: string;

  constructor(options: DaemonsOptions) {
    this.options = options;
    this.base = DockerDaemons.baseOf(options.root);
  }

  /** Where the daemons of the service whose root is `root` keep their files. */
  static baseOf(root: string): string {
    return `/tmp/prewarm-${hash(path.resolve(root), 10)}`;
  }

  /**
   * Makes the directory of every daemon's files, passable by projects' users (each daemon's own
   * directory inside is closed to all but its user); a run's jail keeps it reachable.
   */
  async prepareBase(): Promise<string> {
    await mkdir(this.base, { recursive: true });
    // In the host's shared /tmp: anyone could have made that name first (a link, or theirs).
    const info = await lstat(this.base);
    if (!info.isDirectory() || info.uid !== process.getuid?.()) {
      throw new Error(`${this.base} is not a directory of the service's own; remove it`);
    }
    await chmod(this.base, 0o711);
    return this.base;
  }

  /** Removes the daemons' directory once no run is left to use it: a stopped service leaves nothing in /tmp. */
  async removeBase(): Promise<void> {
    await removeTree(this.base);
  }

  /** Whether runs get a daemon here, which kind, and why not, in plain words (the contract's DockerAvailability). */
  availability(): {
    available: boolean;
    detail: string | null;
    rootless: boolean | null;
    projects_isolated: boolean;
    refuses_runs: boolean;
  } {
    const { engine } = this.options;
    return {
      available: engine !== null,
      detail: engine ? null : (this.options.absence ?? "this sandbox has no Docker engine"),
      rootless: engine ? engine.mode === "rootless" : null,
      // A root daemon's socket is root on the host: where the operator allows one, projects are not isolated.
      projects_isolated: this.options.isolated && engine?.mode !== "root",
      refuses_runs: engine === null && this.options.refuses === true,
    };
  }

  private driver: Promise<string | null> | undefined;

  /**
   * The storage driver this host's daemons use: the one the daemon flags name, else the one a
   * daemon picks on an empty directory under the root (asked once). Null without an engine, or
   * when no daemon would start to say.
   */
  storageDriver(): Promise<string | null> {
    const { engine, scratchDir, logger } = this.options;
    if (!engine) return Promise.resolve(null);
    this.driver ??= (async () => {
      const named = namedStorageDriver(engine.args);
      if (named) return named;
      // A rootless daemon needs a project's user to run as; rootless daemons of this kernel use
      // overlay2 natively, and a golden records the driver that made it.
      if (engine.mode === "rootless") return null;
      const dir = path.join(scratchDir, "storage-driver-probe");
      try {
        await rm(dir, { recursive: true, force: true });
        await mkdir(path.join(dir, "docker"), { recursive: true });
        const daemon = await this.start(
          "storage-driver-probe",
          path.join(dir, "docker"),
          path.join(dir, "dockerd.log"),
        );
        await daemon?.stop();
        return daemon?.used.storage_driver ?? null;
      } catch (error) {
        logger.warn({ error: String(error) }, "no Docker daemon would start to say which storage driver it uses");
        return null;
      } finally {
        await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      }
    })();
    return this.driver;
  }

  /** Resolves once no daemon of the service's own (the storage driver's probe) is running. */
  async settled(): Promise<void> {
    await this.driver;
  }

  /**
   * Why this host's daemons cannot open a golden (`made` by the daemon recorded at its promotion,
   * or read off its directory for a golden that has no record); null when they can.
   */
  async goldenProblem(made: DockerEngineUsed | null, dockerDir: string): Promise<string | null> {
    const { engine } = this.options;
    if (!engine) return null;
    // A golden a daemon made without a record of it is older than rootless daemons: a root one's.
    const madeBy = made ?? ((await storageDriverOf(dockerDir)) === null ? null : { rootless: false });
    const rootless = engine.mode === "rootless";
    if (madeBy && (madeBy.rootless ?? false) !== rootless) {
      // Overlay marks deleted directories with trusted.* attributes as root and user.* ones
      // rootless: either daemon would read the other's layers wrong, silently.
      return rootless
        ? "The golden was made by a root Docker daemon, and this sandbox's daemons are rootless"
        : "The golden was made by a rootless Docker daemon, and this sandbox's daemons run as root";
    }
    const host = await this.storageDriver();
    if (host === null) return null;
    return unusableReason(made?.storage_driver ?? (await storageDriverOf(dockerDir)), host);
  }

  private files(runId: string) {
    const dir = path.join(this.base, hash(runId, 12));
    return {
      dir,
      socket: path.join(dir, "docker.sock"),
      dockerdPid: path.join(dir, "dockerd.pid"),
      containerdSocket: path.join(dir, "containerd.sock"),
      containerdPid: path.join(dir, "containerd.pid"),
      containerdConfig: path.join(dir, "containerd.toml"),
      daemonConfig: path.join(dir, "daemon.json"),
      exec: path.join(dir, "exec"),
      containerdState: path.join(dir, "containerd-state"),
      bin: path.join(dir, "bin"),
    };
  }

  /**
   * Starts the run's daemon on `dockerDir` and resolves once it answers; null without an engine.
   * A rootless daemon runs in the run's `jail` as its user; a root daemon's socket is given to
   * the jail's user.
   */
  async start(
    runId: string,
    dockerDir: string,
    logFile: string,
    jail: RunJail | null = null,
  ): Promise<RunDaemon | null> {
    const { engine, logger } = this.options;
    if (!engine) return null;
    const files = this.files(runId);
    if (engine.mode === "rootless") {
      // A root service runs each one as its project's user, in the run's jail; one that is not
      // root runs them as itself.
      if (!jail && process.getuid?.() === 0) {
        throw new DaemonError("A root service's rootless daemon runs as a project's user, in a run's jail", "");
      }
      const daemon = await startRootless({
        engine,
        dockerDir,
        logFile,
        filesDir: files.dir,
        jail,
        limits: this.options.limits,
        stopGraceMs: this.options.stopGraceMs,
        stopTimeoutMs,
      });
      logger.debug({ runId, host: daemon.host, ...daemon.used }, "rootless docker daemon started");
      return daemon;
    }
    await rm(files.dir, { recursive: true, force: true });
    await mkdir(files.bin, { recursive: true, mode: 0o700 });
    await symlink(engine.docker, path.join(files.bin, "docker"));
    await writeFile(files.daemonConfig, "{}\n");
    await writeFile(files.containerdConfig, containerdConfig(dockerDir, files));
    const log = await open(logFile, "a");
    const children: { name: string; process: ChildProcess }[] = [];
    const daemon: RunDaemon = {
      host: `unix://${files.socket}`,
      used: { version: "", storage_driver: "", rootless: false },
      binDir: files.bin,
      filesDir: files.dir,
      enter: null,
      stop: async () => {
        try {
          await this.stopDaemon(files, dockerDir, children, logFile);
        } finally {
          await log.close().catch(() => undefined);
        }
      },
    };
    try {
      const containerd = spawnDetached(engine.containerd, ["--config", files.containerdConfig], log.fd);
      children.push({ name: "containerd", process: containerd });
      await writeFile(files.containerdPid, `${containerd.pid}\n`);
      // dockerd starts once its containerd serves: their logs share a file, and containerd's boot
      // lines must not come after (and push out of the tail) what dockerd says when it fails.
      await waitUntil("containerd", containerd, () =>
        stat(files.containerdSocket).then(
          () => true,
          () => false,
        ),
      );
      const dockerd = spawnDetached(
        engine.dockerd,
        [
          "--config-file",
          files.daemonConfig,
          "--data-root",
          dockerDir,
          "--exec-root",
          files.exec,
          "--pidfile",
          files.dockerdPid,
          "--host",
          daemon.host,
          "--containerd",
          files.containerdSocket,
          "--shutdown-timeout",
          String(Math.max(1, Math.ceil(this.options.stopGraceMs / 1000))),
          ...engine.args,
        ],
        log.fd,
      );
      children.push({ name: "dockerd", process: dockerd });
      await waitUntil("dockerd", dockerd, () => ping(files.socket));
      daemon.used = { ...(await engineUsed(files.socket)), rootless: false };
      // The operator allowed root daemons: the run's user may use this one.
      if (jail) {
        await chown(files.dir, jail.user.uid, jail.user.gid);
        await chown(files.socket, jail.user.uid, jail.user.gid);
      }
      logger.debug({ runId, host: daemon.host, ...daemon.used }, "docker daemon started");
      return daemon;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      await daemon.stop().catch(() => undefined);
      throw new DaemonError(`The Docker daemon did not start: ${reason}`, await logTail(logFile));
    }
  }

  /**
   * Opens `dockerDir` with a new daemon once more, as the next session's will, and stops it: the
   * directory must open on the first attempt with no error in the daemon's log. Resolves with
   * what opened it; null without an engine. A golden is promoted only after this.
   */
  async verify(
    runId: string,
    dockerDir: string,
    logFile: string,
    jail: RunJail | null = null,
  ): Promise<DockerEngineUsed | null> {
    const from = await stat(logFile).then(
      (file) => file.size,
      () => 0,
    );
    const daemon = await this.start(`${runId}:verify`, dockerDir, logFile, jail);
    if (!daemon) return null;
    await daemon.stop();
    const errors = (await readFile(logFile))
      .subarray(from)
      .toString("utf8")
      .split("\n")
      .filter((line) => line.includes("level=error") && !knownNoise.test(line));
    if (errors.length > 0) {
      throw new DaemonError("A Docker daemon opened the directory with errors", errors.slice(-15).join("\n"));
    }
    return daemon.used;
  }

  /**
   * After a restart no run is running: ends every daemon this root's runs left (by their pid
   * files), then every process and mount left under the root and the daemons' files.
   */
  async sweep(): Promise<void> {
    const { logger, root } = this.options;
    for (const entry of await readdir(this.base).catch(() => [] as string[])) {
      const dir = path.join(this.base, entry);
      for (const pidFile of ["dockerd.pid", "containerd.pid"]) {
        const pid = await readPid(path.join(dir, pidFile));
        if (pid !== null) await terminate(pid, dir, stopTimeoutMs).catch(() => undefined);
      }
    }
    const prefixes = [path.resolve(root), this.base];
    const killed = await killProcessesUnder(prefixes);
    const detached = await unmountUnder(prefixes);
    if (killed > 0 || detached.length > 0) {
      logger.warn({ killed, detached }, "ended what the previous run's Docker daemons left");
    }
    await removeTree(this.base);
  }

  private async stopDaemon(
    files: ReturnType<DockerDaemons["files"]>,
    dockerDir: string,
    children: { name: string; process: ChildProcess }[],
    logFile: string,
  ): Promise<void> {
    const faults: string[] = [];
    // dockerd first (it stops its containers), then its containerd.
    for (const child of [...children].reverse()) {
      const timeoutMs = stopTimeoutMs + this.options.stopGraceMs;
      if (!(await terminateChild(child.process, timeoutMs))) {
        faults.push(`${child.name} did not exit within ${timeoutMs / 1000} s of SIGTERM`);
      }
    }
    const prefixes = [files.dir, dockerDir];
    // A shim may take a moment to notice its containerd is gone.
    const deadline = Date.now() + 5_000;
    while ((await processesUnder(prefixes)).length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const killed = await killProcessesUnder(prefixes);
    if (killed > 0) faults.push(`${killed} of its processes were still running`);
    const detached = await unmountUnder(prefixes).catch((error) => {
      faults.push(String(error));
      return [];
    });
    if (detached.length > 0) faults.push(`busy mounts had to be detached: ${detached.join(", ")}`);
    await rm(files.dir, { recursive: true, force: true });
    if (faults.length > 0) {
      throw new DaemonError(`The Docker daemon did not stop cleanly: ${faults.join("; ")}`, await logTail(logFile));
    }
  }
}

function containerdConfig(dockerDir: string, files: { containerdSocket: string; containerdState: string }): string {
  // Where dockerd would keep its own containerd's data: a golden does not depend on who started it.
  return [
    "version = 2",
    `root = ${JSON.stringify(path.join(dockerDir, "containerd", "daemon"))}`,
    `state = ${JSON.stringify(files.containerdState)}`,
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    "[grpc]",
    `  address = ${JSON.stringify(files.containerdSocket)}`,
    "",
  ].join("\n");
}

/**
 * The same for a daemon that is not our child (a restarted service finds it by its pid file),
 * only if that pid is still one of this run's daemons and not a process that reused the number.
 */
async function terminate(pid: number, runDir: string, timeoutMs: number): Promise<void> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  if (!cmdline.includes(runDir)) return;
  const alive = async () => {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    // A zombie has ended; only its parent's wait is missing.
    return stat !== "" && stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  };
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + timeoutMs;
  while ((await alive()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  if (await alive()) process.kill(pid, "SIGKILL");
}

async function readPid(file: string): Promise<number | null> {
  const text = await readFile(file, "utf8").catch(() => "");
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 1 ? pid : null;
}
