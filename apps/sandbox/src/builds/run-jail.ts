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
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chmod, readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Whether a run may reach anything beyond its own loopback. */
export type RunNetwork = "none" | "outbound";

export interface RunLimits {
  /** RLIMIT_NPROC: processes (threads) of the project's user, its containers' users included. */
  processes: number;
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

/** The user a run runs as: the project's user where the service is root, else the service's own. */
export interface RunIdentity {
  uid: number;
  gid: number;
}

// Runs as root in the jail's new namespaces, before anything of the run is in them. The host's
// /tmp is kept reachable under the private one only while the kept paths are bound back.
const holderScript = `
set -eu
umask 022
tmp=$1; net=$2; shift 2
if [ "$net" = none ]; then ip link set lo up; fi
mkdir -p "$tmp/.host-tmp"
mount --rbind /tmp "$tmp/.host-tmp"
mount --rbind "$tmp" /tmp
for keep in "$@"; do
  rest=\${keep#/tmp/}
  [ -e "/tmp/.host-tmp/$rest" ] || continue
  mkdir -p "/tmp/$rest"
  # Not recursive: nothing mounted below a kept path (the stash of the host's /tmp among them,
  # where the run's tmp is under it) comes along.
  mount --bind "/tmp/.host-tmp/$rest" "/tmp/$rest"
done
umount -l /tmp/.host-tmp
rmdir /tmp/.host-tmp 2>/dev/null || true
mount --bind /tmp /var/tmp
mount -t tmpfs -o size=64m,mode=1777,nosuid,nodev tmpfs /dev/shm
# The host's other place anyone may write.
if [ -d /run/lock ]; then mount -t tmpfs -o size=1m,mode=1777,nosuid,nodev tmpfs /run/lock; fi
echo ready
# The jail's init: it keeps its command line (with the run's path, which a restarted service
# sweeps by) and, between sleeps, reaps whatever the run orphaned.
exec </dev/null >/dev/null 2>&1
while :; do sleep 1; done
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
  /** The host path of the jail's /tmp. */
  readonly tmpDir: string;
  private readonly unshare: ChildProcess;
  /** The holder, the jail's init, by its PID on the host. */
  readonly holderPid: number;

  private constructor(options: {
    user: RunIdentity;
    network: RunNetwork;
    limits: RunLimits;
    tmpDir: string;
    unshare: ChildProcess;
    holderPid: number;
  }) {
    this.user = options.user;
    this.network = options.network;
    this.limits = options.limits;
    this.tmpDir = options.tmpDir;
    this.unshare = options.unshare;
    this.holderPid = options.holderPid;
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
    const args = ["--mount", "--pid", "--fork", "--mount-proc", "--propagation", "private"];
    if (options.network === "none") args.push("--net");
    const unshare = spawn(
      programs.unshare,
      [...args, "--", programs.sh, "-c", holderScript, "holder", options.tmpDir, options.network, ...keep],
      { stdio: ["ignore", "pipe", "pipe"], detached: true, env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } },
    );
    unshare.on("error", () => undefined);
    let said = "";
    const ready = await new Promise<boolean>((resolve) => {
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
    if (holderPid === null) {
      if (unshare.pid !== undefined) unshare.kill("SIGKILL");
      throw new Error(`Could not make the run's jail: ${said.trim() || "the holder exited"}`);
    }
    unshare.stdout?.resume();
    unshare.stderr?.resume();
    return new RunJail({ ...options, unshare, holderPid });
  }

  /** `command` run in the jail, as root: only for what then drops to the user itself (a daemon's launcher). */
  private enter(command: string[]): string[] {
    return [programs.nsenter, `--target=${this.holderPid}`, "--mount", "--net", "--pid", "--", ...command];
  }

  /** `command` run in the jail as the run's user, with the run's limits and exactly `env`, in `cwd`. */
  asUser(command: string[], env: Record<string, string>, cwd?: string): string[] {
    return [
      ...withLimits(this.limits),
      ...this.enter([
        programs.setpriv,
        `--reuid=${this.user.uid}`,
        `--regid=${this.user.gid}`,
        "--clear-groups",
        "--",
        ...cleanEnv(env),
        ...inDirectory(cwd, command),
      ]),
    ];
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
  return [programs.prlimit, `--nproc=${limits.processes}`, `--nofile=${limits.openFiles}`, "--"];
}

/** `env -i NAME=value …`: what follows gets `env` and nothing else. */
export function cleanEnv(env: Record<string, string>): string[] {
  return [programs.env, "-i", ...Object.entries(env).map(([name, value]) => `${name}=${value}`)];
}

/**
 * `command` run inside a rootless daemon's namespaces (user, mount, network, PID), as the user
 * namespace's root, which is the project's user on the host: there the script's files map to
 * IDs the daemon can use, and what it leaves running ends with the daemon.
 */
export function insideDaemon(
  childPid: number,
  limits: RunLimits,
  env: Record<string, string>,
  command: string[],
  cwd?: string,
): string[] {
  const nsenter = [programs.nsenter, `--target=${childPid}`, "--user", "--mount", "--net", "--pid"];
  return [...withLimits(limits), ...nsenter, "--", ...cleanEnv(env), ...inDirectory(cwd, command)];
}

/**
 * `command` started in `cwd`, named inside the namespaces entered: a directory opened before
 * entering them (nsenter's --wd) would be of the host's mounts, which the jail cannot see.
 */
function inDirectory(cwd: string | undefined, command: string[]): string[] {
  if (!cwd) return command;
  return [programs.sh, "-c", 'cd -- "$1" && shift && exec "$@"', "in-directory", cwd, ...command];
}

/** The one child of `pid` (the holder under `unshare --fork`), or null. */
async function onlyChild(pid: number): Promise<number | null> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, "utf8").catch(() => "");
    const child = Number.parseInt(text.trim().split(/\s+/)[0] ?? "", 10);
    if (Number.isInteger(child) && child > 0) return child;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return null;
}

/**
 * The children of `pid` on the host. Each thread lists the children it forked, and a Go program
 * (rootlesskit) forks from any of its threads: all of them are read.
 */
export async function childrenOf(pid: number): Promise<number[]> {
  const children: number[] = [];
  for (const task of await readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
    const text = await readFile(`/proc/${pid}/task/${task}/children`, "utf8").catch(() => "");
    for (const word of text.trim().split(/\s+/).filter(Boolean)) children.push(Number.parseInt(word, 10));
  }
  return children;
}

/** Gives a tree to the run's user (symlinks themselves, never what they point to). */
export async function chownTree(dir: string, user: RunIdentity): Promise<void> {
  await run("chown", ["-R", "--no-dereference", `${user.uid}:${user.gid}`, "--", dir]);
}

/**
 * Lets other users pass through, never list or read, every directory from `root` down to
 * `target`'s parent: exactly 0711, whatever umask made them.
 */
export async function passable(target: string, root: string): Promise<void> {
  for (let dir = path.dirname(target); dir === root || dir.startsWith(`${root}/`); dir = path.dirname(dir)) {
    if (((await stat(dir)).mode & 0o7777) !== 0o711) await chmod(dir, 0o711);
    if (dir === root) break;
  }
}
