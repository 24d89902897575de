// A rootless Docker daemon: dockerd under Debian's rootlesskit, as the project's user, in a user
// namespace whose root is that user and whose other IDs are its subordinate range, so nothing a
// container does (`-v /:/host`, `--privileged`) reaches beyond what that user may do on the host.
// Invariants:
// 1. A root service runs it inside the run's jail (run-jail.ts), as the project's user; a service
//    that is not root (no jails, projects not isolated) runs it as itself. Either way it has a
//    PID namespace of its own (`--pidns`): when rootlesskit ends, every process of the daemon and
//    its containers ends with it.
// 2. No port of the host is ever opened for it (`--port-driver=none`); its network is the jail's
//    loopback alone, or slirp4netns without the host's loopback where the operator allows
//    outbound access.
// 3. `stop` resolves only once rootlesskit has exited on SIGTERM and nothing of the daemon is
//    left under its files or its Docker directory; otherwise it throws why, as a root daemon's.
import { access, chmod, chown, constants, mkdir, open, readlink, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { cleanEnv, inDirectory, type RunJail, type RunLimits, withLimits } from "../builds/run-jail.ts";
import { removeTree } from "../fs/durable.ts";
import { DaemonError, engineUsed, logTail, ping, spawnDetached, waitUntil } from "./daemon-process.ts";
import type { DockerEngine, RunDaemon } from "./docker-daemon.ts";
import { childrenOf, killProcessesUnder } from "./run-leftovers.ts";

const rootlessPrograms = {
  rootlesskit: "/usr/bin/rootlesskit",
  newuidmap: "/usr/bin/newuidmap",
  newgidmap: "/usr/bin/newgidmap",
  slirp4netns: "/usr/bin/slirp4netns",
} as const;

/** Why rootless daemons cannot run on this host, or null when they can. */
export async function rootlessProblem(): Promise<string | null> {
  for (const program of Object.values(rootlessPrograms)) {
    const ok = await access(program, constants.X_OK).then(
      () => true,
      () => false,
    );
    if (!ok) return `${program} is missing; apt-get install -y rootlesskit uidmap slirp4netns`;
  }
  return null;
}

// In rootlesskit's namespaces, as the namespace's root: what a previous daemon of these
// directories left in the copied-up /run would stop this one.
const childScript = 'rm -f /run/docker /run/containerd /run/xtables.lock; exec "$@"';

interface RootlessOptions {
  engine: DockerEngine;
  dockerDir: string;
  logFile: string;
  /** The daemon's own directory: short, for the socket's path. */
  filesDir: string;
  /** The run's jail, whose user the daemon runs as; null where the service runs it as itself. */
  jail: RunJail | null;
  limits: RunLimits;
  stopGraceMs: number;
  stopTimeoutMs: number;
}

/** Starts a rootless daemon on `dockerDir` (owned by its user) and resolves once it answers. */
export async function startRootless(options: RootlessOptions): Promise<RunDaemon> {
  const { engine, dockerDir, filesDir, jail } = options;
  const user = jail?.user ?? { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  // RLIMIT_NPROC counts every process of a user: without a jail, the user is the service's own,
  // whose other processes (a developer's whole desktop) would count against each run.
  const limits = jail ? options.limits : { ...options.limits, processes: null };
  const xdg = path.join(filesDir, "xdg");
  const home = path.join(filesDir, "home");
  const bin = path.join(filesDir, "bin");
  const socket = path.join(xdg, "docker.sock");
  await removeTree(filesDir);
  // Modes set outright: the service's own umask (077) would close them to the daemon's user.
  await mkdir(filesDir, { recursive: true });
  await chmod(filesDir, 0o711);
  for (const dir of [xdg, home]) {
    await mkdir(dir, { mode: 0o700 });
    await chown(dir, user.uid, user.gid);
  }
  await mkdir(bin);
  await chmod(bin, 0o755);
  await symlink(engine.docker, path.join(bin, "docker"));
  const config = path.join(filesDir, "daemon.json");
  await writeFile(config, "{}\n");
  await chmod(config, 0o644);

  // Without a jail the service's own network is the script's already: no use hiding it.
  const network =
    (jail?.network ?? "none") === "none"
      ? ["--net=host"]
      : [
          "--net=slirp4netns",
          "--mtu=65520",
          "--disable-host-loopback",
          "--slirp4netns-sandbox=auto",
          "--slirp4netns-seccomp=auto",
        ];
  const command = [
    rootlessPrograms.rootlesskit,
    ...network,
    "--port-driver=none",
    "--copy-up=/etc",
    "--copy-up=/run",
    "--propagation=rslave",
    "--pidns",
    `--state-dir=${path.join(xdg, "rk")}`,
    "/bin/sh",
    "-c",
    childScript,
    "rootless-child",
    engine.dockerd,
    "--config-file",
    config,
    "--data-root",
    dockerDir,
    "--exec-root",
    path.join(xdg, "docker"),
    "--pidfile",
    path.join(xdg, "docker.pid"),
    "--host",
    `unix://${socket}`,
    "--shutdown-timeout",
    String(Math.max(1, Math.ceil(options.stopGraceMs / 1000))),
    ...engine.args,
  ];
  const env = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", HOME: home, XDG_RUNTIME_DIR: xdg, TMPDIR: xdg };
  const argv = jail
    ? jail.asUser(command, env, { launcher: true })
    : [...withLimits(limits), ...cleanEnv(env), ...command];
  const log = await open(options.logFile, "a");
  const launcher = spawnDetached(argv[0] ?? "", argv.slice(1), log.fd);
  let childPid: number | null = null;
  const stop = async () => {
    try {
      await stopRootless(launcher, { ...options, user });
    } finally {
      await log.close().catch(() => undefined);
    }
  };
  try {
    await waitUntil("the rootless daemon", launcher, () => ping(socket));
    childPid = await namespaceChild(launcher.pid ?? 0, jail !== null);
    if (childPid === null) throw new Error("rootlesskit's namespaces could not be found");
    const used = { ...(await engineUsed(socket)), rootless: true };
    const inside = childPid;
    const namespaces = await namespacesOf(inside);
    return {
      host: `unix://${socket}`,
      used,
      binDir: bin,
      filesDir,
      enter: (scriptEnv, script, cwd) => insideDaemon(inside, namespaces, limits, scriptEnv, script, cwd),
      stop,
    };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    await stop().catch(() => undefined);
    throw new DaemonError(`The Docker daemon did not start: ${reason}`, await logTail(options.logFile));
  }
}

async function stopRootless(
  launcher: ReturnType<typeof spawnDetached>,
  options: RootlessOptions & { user: { uid: number } },
): Promise<void> {
  const faults: string[] = [];
  const timeoutMs = options.stopTimeoutMs + options.stopGraceMs;
  const exited =
    launcher.exitCode !== null || launcher.signalCode !== null
      ? Promise.resolve(true)
      : new Promise<boolean>((resolve) => launcher.once("exit", () => resolve(true)));
  // rootlesskit passes SIGTERM on to dockerd, which stops its containers and its containerd; the
  // launcher (nsenter, in a jail) exits with it. SIGKILL to rootlesskit ends its whole PID namespace.
  const kit = await rootlesskitPid(launcher.pid ?? 0, options.jail !== null);
  signal(kit, "SIGTERM");
  const timer = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
  if (!(await Promise.race([exited, timer]))) {
    faults.push(`the daemon did not exit within ${timeoutMs / 1000} s of SIGTERM`);
    signal(kit, "SIGKILL");
    signal(launcher.pid ?? null, "SIGKILL");
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
  }
  // Only the run's user's own processes are its daemon's leftovers: another project's process
  // that names these paths on its command line must not make this run fail.
  const leftovers = await killProcessesUnder([options.filesDir, options.dockerDir], options.user.uid);
  if (leftovers > 0) faults.push(`${leftovers} of its processes were still running`);
  await removeTree(options.filesDir);
  if (faults.length > 0) {
    throw new DaemonError(
      `The Docker daemon did not stop cleanly: ${faults.join("; ")}`,
      await logTail(options.logFile),
    );
  }
}

function signal(pid: number | null, name: NodeJS.Signals): void {
  if (pid === null || pid <= 1) return;
  try {
    process.kill(pid, name);
  } catch {
    // Gone already.
  }
}

/**
 * rootlesskit itself: the one child the launcher (`nsenter` into the run's jail) forked, or
 * without a jail the launcher, which became rootlesskit.
 */
async function rootlesskitPid(launcherPid: number, jailed: boolean): Promise<number | null> {
  if (!jailed) return launcherPid > 1 ? launcherPid : null;
  const [child] = await childrenOf(launcherPid);
  return child ?? null;
}

/** rootlesskit's child: the process in the daemon's own namespaces, which a script enters. */
async function namespaceChild(launcherPid: number, jailed: boolean): Promise<number | null> {
  const kit = await rootlesskitPid(launcherPid, jailed);
  if (kit === null) return null;
  const own = await readlink(`/proc/${kit}/ns/pid`).catch(() => "");
  for (const child of await childrenOf(kit)) {
    const ns = await readlink(`/proc/${child}/ns/pid`).catch(() => own);
    if (ns !== own) return child;
  }
  return null;
}

/**
 * nsenter's options for the namespaces of `pid` that are not the service's own: a daemon's user,
 * mount and PID namespaces, and its jail's network, IPC and UTS ones where it has a jail (the
 * service's own are the host's, which no user namespace may enter).
 */
async function namespacesOf(pid: number): Promise<string[]> {
  const kinds = { user: "--user", mnt: "--mount", net: "--net", pid: "--pid", ipc: "--ipc", uts: "--uts" };
  const options: string[] = [];
  for (const [kind, option] of Object.entries(kinds)) {
    const theirs = await readlink(`/proc/${pid}/ns/${kind}`);
    if (theirs !== (await readlink(`/proc/self/ns/${kind}`))) options.push(option);
  }
  return options;
}

/**
 * `command` run inside a rootless daemon's namespaces (`namespaces`, nsenter's options), as the
 * user namespace's root, which is the project's user on the host: there the script's files map
 * to IDs the daemon can use, and what it leaves running ends with the daemon. It gains nothing
 * from setuid programs.
 */
function insideDaemon(
  childPid: number,
  namespaces: string[],
  limits: RunLimits,
  env: Record<string, string>,
  command: string[],
  cwd?: string,
): string[] {
  const nsenter = ["/usr/bin/nsenter", `--target=${childPid}`, ...namespaces];
  const noNewPrivs = ["/usr/bin/setpriv", "--no-new-privs", "--"];
  return [...withLimits(limits), ...nsenter, "--", ...noNewPrivs, ...cleanEnv(env), ...inDirectory(cwd, command)];
}
