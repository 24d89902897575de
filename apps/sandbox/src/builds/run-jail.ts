// A run's jail: where a project's startup script and its Docker daemon live on a sandbox whose
// service is root, so that one project can touch nothing but its own run.
// Invariants:
// 1. Nothing a script starts runs as root or as the service's user: the script and the daemon
//    are the project's user (run_user), with its process and open-file limits (rlimits), and
//    its environment is built from nothing (no variable of the service reaches it).
// 2. The jail has a /tmp, /var/tmp, /dev/shm and /run/lock of its own (every place on the host
//    anyone may write): /tmp and /var/tmp are the run's `tmp` directory (on disk, under the run's
//    directory, where its share of disk is counted), the others small tmpfs. Of the host's /tmp
//    it keeps only the paths it is given.
// 3. The jail has a PID namespace of its own, whose init is the holder: every process of the run
//    is in it, so `close` (SIGKILL to the holder) ends them all at once, whatever they did to
//    leave their process group. It also has its own network namespace with nothing but a
//    loopback, unless the operator allows outbound access (the daemon's slirp4netns then gives
//    one without the host's loopback).
import { type ChildProcess, spawn } from "node:child_process";
import { readlink } from "node:fs/promises";
import path from "node:path";
import { childrenOf, processTable } from "../docker/run-leftovers.ts";

/** Whether a run may reach anything beyond its own loopback. */
export type RunNetwork = "none" | "outbound";

export interface RunLimits {
  /** RLIMIT_NPROC: processes (threads) of the project's user, its containers' users included; null: not set. */
  processes: number | null;
  /** RLIMIT_NOFILE of every process of the run. */
  openFiles: number;
}

/** How this host runs every script: chosen by the operator, the same for every run. */
export interface RunPolicy {
  /** Each project's runs as its own user in a jail; only where the service is root. */
  isolated: boolean;
  network: RunNetwork;
  limits: RunLimits;
  /** The most disk a run may write (its directories, its /tmp, its daemon's files); null for no limit. */
  diskLimitBytes: number | null;
  /** How often a run's disk is measured while it runs. */
  diskCheckMs: number;
}

/** The project's user a run runs as, by its IDs on the host. */
export interface RunIdentity {
  uid: number;
  gid: number;
}

// Runs as root in the jail's new namespaces, before anything of the run is in them. The kept
// paths are bound into the run's tmp first, then that tree becomes /tmp: nothing of the host's
// /tmp is mounted anywhere in the jail but the kept paths themselves.
const holderScript = `
set -eu
umask 022
tmp=$1; net=$2; shift 2
if [ "$net" = none ]; then ip link set lo up; fi
for keep in "$@"; do
  rest=\${keep#/tmp/}
  [ -e "/tmp/$rest" ] || continue
  mkdir -p "$tmp/$rest"
  # Not recursive: nothing mounted below a kept path comes along.
  mount --bind "/tmp/$rest" "$tmp/$rest"
done
mount --rbind "$tmp" /tmp
mount --bind /tmp /var/tmp
# The host's other places anyone may write, each small and the run's own.
mount -t tmpfs -o size=64m,mode=1777,nosuid,nodev tmpfs /dev/shm
if [ -d /run/lock ]; then mount -t tmpfs -o size=1m,mode=1777,nosuid,nodev tmpfs /run/lock; fi
echo ready
# The jail's init keeps its command line (with the run's path, which a restarted service sweeps
# by) and reaps whatever the run orphans while it waits for its one child, the keeper, which
# endStrays leaves alone.
exec </dev/null >/dev/null 2>&1
set +e
sleep infinity &
while :; do wait; sleep 1; done
`;

/** Paths of programs the jail uses: absolute, so no PATH of anyone's can change them. */
const programs = {
  unshare: "/usr/bin/unshare",
  nsenter: "/usr/bin/nsenter",
  setpriv: "/usr/bin/setpriv",
  prlimit: "/usr/bin/prlimit",
  env: "/usr/bin/env",
  sh: "/bin/sh",
};

export class RunJail {
  readonly user: RunIdentity;
  readonly network: RunNetwork;
  readonly limits: RunLimits;
  private readonly unshare: ChildProcess;
  /** The holder, the jail's init, by its PID on the host. */
  readonly holderPid: number;
  /** The holder's one child of its own, which keeps it waiting (and reaping). */
  private readonly keeperPid: number;
  /**
   * The jail's PID namespace, read once it was made: what names the run's processes, even after
   * its holder's PID went to another process.
   */
  private readonly pidNamespace: string;

  private constructor(options: {
    user: RunIdentity;
    network: RunNetwork;
    limits: RunLimits;
    tmpDir: string;
    unshare: ChildProcess;
    holderPid: number;
    keeperPid: number;
    pidNamespace: string;
  }) {
    this.user = options.user;
    this.network = options.network;
    this.limits = options.limits;
    this.unshare = options.unshare;
    this.holderPid = options.holderPid;
    this.keeperPid = options.keeperPid;
    this.pidNamespace = options.pidNamespace;
  }

  /**
   * Makes the jail. `tmpDir` must exist (root's, mode 1777); `keep` are paths under the host's
   * /tmp the run needs (its directories, its daemon's files) where the service keeps them there.
   */
  static async open(options: {
    user: RunIdentity;
    network: RunNetwork;
    limits: RunLimits;
    tmpDir: string;
    keep: string[];
  }): Promise<RunJail> {
    const keep = options.keep.map((p) => path.resolve(p)).filter((p) => p.startsWith("/tmp/"));
    // Its own IPC namespace too: shared memory a run made must not outlive it. --kill-child: the
    // holder (and with it the run) ends if unshare itself is killed.
    const args = [
      "--mount",
      "--pid",
      "--ipc",
      "--uts",
      "--fork",
      "--kill-child",
      "--mount-proc",
      "--propagation",
      "private",
    ];
    if (options.network === "none") args.push("--net");
    const unshare = spawn(
      programs.unshare,
      [...args, "--", programs.sh, "-c", holderScript, "holder", options.tmpDir, options.network, ...keep],
      { stdio: ["ignore", "pipe", "pipe"], detached: true, env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } },
    );
    let said = "";
    const ready = await new Promise<boolean>((resolve) => {
      unshare.once("error", (error) => {
        said += String(error);
        resolve(false);
      });
      unshare.stdout?.on("data", (chunk: Buffer) => {
        said += chunk.toString();
        if (said.includes("ready\n")) resolve(true);
      });
      unshare.stderr?.on("data", (chunk: Buffer) => {
        said += chunk.toString();
      });
      unshare.once("exit", () => resolve(false));
    });
    const holderPid = ready && unshare.pid !== undefined ? await onlyChild(unshare.pid) : null;
    const keeperPid = holderPid === null ? null : await onlyChild(holderPid);
    const pidNamespace = holderPid === null ? null : await readlink(`/proc/${holderPid}/ns/pid`).catch(() => null);
    // A namespace that is the service's own would make every process on the host the run's.
    const own = await readlink("/proc/self/ns/pid");
    if (holderPid === null || keeperPid === null || pidNamespace === null || pidNamespace === own) {
      if (unshare.pid !== undefined) unshare.kill("SIGKILL");
      throw new Error(`Could not make the run's jail: ${said.trim() || "the holder exited"}`);
    }
    unshare.stdout?.resume();
    unshare.stderr?.resume();
    return new RunJail({ ...options, unshare, holderPid, keeperPid, pidNamespace });
  }

  /** `command` run in the jail, as root: only for what then drops to the user itself (a daemon's launcher). */
  private enter(command: string[]): string[] {
    const namespaces = ["--mount", "--net", "--pid", "--ipc", "--uts"];
    return [programs.nsenter, `--target=${this.holderPid}`, ...namespaces, "--", ...command];
  }

  /**
   * `command` run in the jail as the run's user, with the run's limits and exactly `env`, in
   * `cwd`. A script gains no privilege from a setuid program (crontab, at: they would run its
   * commands outside the jail); a daemon's launcher needs newuidmap's (`launcher`).
   */
  asUser(command: string[], env: Record<string, string>, options: { cwd?: string; launcher?: boolean } = {}): string[] {
    return [
      ...withLimits(this.limits),
      ...this.enter([
        programs.setpriv,
        `--reuid=${this.user.uid}`,
        `--regid=${this.user.gid}`,
        "--clear-groups",
        ...(options.launcher ? [] : ["--no-new-privs"]),
        "--",
        ...cleanEnv(env),
        ...inDirectory(options.cwd, command),
      ]),
    ];
  }

  /**
   * Every process of the run: those in the jail's PID namespace, every process below them, and
   * every process in a namespace one of those is in. Its daemon's and containers' namespaces are
   * nested in the jail's, and its script is entered into the daemon's from outside (no child of
   * anything in the jail): it is found by its namespace.
   */
  async processes(): Promise<number[]> {
    const table = await processTable();
    const namespaces = new Set([this.pidNamespace]);
    const members = new Set<number>();
    for (let grown = true; grown; ) {
      grown = false;
      for (const [pid, { ns, ppid }] of table) {
        if (members.has(pid) || !(namespaces.has(ns) || members.has(ppid))) continue;
        members.add(pid);
        namespaces.add(ns);
        grown = true;
      }
    }
    return [...members];
  }

  /**
   * Ends every process of the run but the jail's init: once its script has ended, nothing it
   * left may write into what is about to be measured and promoted.
   */
  async endStrays(): Promise<void> {
    for (let round = 0; round < 20; round++) {
      const table = await processTable();
      const strays = [...table]
        .filter(([pid, { ns }]) => ns === this.pidNamespace && pid !== this.holderPid && pid !== this.keeperPid)
        .map(([pid]) => pid);
      if (strays.length === 0) return;
      for (const pid of strays) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // Gone already.
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Ends every process of the run (the holder is their init) and waits until they are gone. */
  async close(): Promise<void> {
    if (this.unshare.exitCode !== null || this.unshare.signalCode !== null) return;
    const exited = new Promise((resolve) => this.unshare.once("exit", resolve));
    try {
      process.kill(this.holderPid, "SIGKILL");
    } catch {
      // Already gone.
    }
    await exited;
  }
}

/** `prlimit` setting the run's limits (soft and hard) on what follows. */
export function withLimits(limits: RunLimits): string[] {
  const processes = limits.processes === null ? [] : [`--nproc=${limits.processes}`];
  return [programs.prlimit, ...processes, `--nofile=${limits.openFiles}`, "--"];
}

/** `env -i NAME=value …`: what follows gets `env` and nothing else. */
export function cleanEnv(env: Record<string, string>): string[] {
  return [programs.env, "-i", ...Object.entries(env).map(([name, value]) => `${name}=${value}`)];
}

/**
 * `command` started in `cwd`, named inside the namespaces entered: a directory opened before
 * entering them (nsenter's --wd) would be of the host's mounts, which the jail cannot see.
 */
export function inDirectory(cwd: string | undefined, command: string[]): string[] {
  if (!cwd) return command;
  return [programs.sh, "-c", 'cd -- "$1" && shift && exec "$@"', "in-directory", cwd, ...command];
}

/** The one child of `pid` (the holder under `unshare --fork`, the keeper under the holder), or null. */
async function onlyChild(pid: number): Promise<number | null> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const [child] = await childrenOf(pid);
    if (child !== undefined && child > 0) return child;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return null;
}
