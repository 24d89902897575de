// The startup script runs in its own process group so that stopping a build reaches every
// process it started, not just the shell (and, as a project's user, in its run's jail, which
// reaches the rest). Its output goes straight to the build log (stdout and
// stderr interleaved, as a terminal would show them).
import { type ChildProcess, spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { withInheritedUmask } from "@prewarm/service-kit/private-files";

/**
 * A golden build names its build; a test session names its session. With `docker`, the script
 * has its run's own daemon (DOCKER_HOST) and the engine's client first on its PATH.
 */
export type ScriptEnv = {
  dockerDir: string;
  projectId: string;
  docker?: { host: string; binDir: string } | null;
} & ({ buildId: string; sessionId?: undefined } | { sessionId: string; buildId?: undefined });

/** How the script is started: the program and its arguments, and where and with what it runs. */
export interface ScriptCommand {
  argv: string[];
  /** The process's environment; for a script that enters a jail, `argv` sets the script's own. */
  env: Record<string, string>;
  cwd: string;
}

function spawnStartupScript(options: { command: ScriptCommand; logFd: number }): ChildProcess {
  const [first = "bash", ...rest] = options.command.argv;
  // The umask the service was started with, not the service's own closed one.
  const [program, args] = withInheritedUmask(first, rest);
  return spawn(program, args, {
    cwd: options.command.cwd,
    detached: true,
    stdio: ["ignore", options.logFd, options.logFd],
    env: options.command.env,
  });
}

const standardPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * Only what a script needs: the service's own settings (and any secret among them) stay out. A
 * script of a project's own user (`home` given) inherits nothing of the service at all.
 */
export function scriptEnvironment(env: ScriptEnv, home?: string): Record<string, string> {
  const inherited: Record<string, string> = {};
  const names = home === undefined ? ["PATH", "HOME", "USER", "LANG", "LC_ALL", "TZ"] : ["LANG", "LC_ALL", "TZ"];
  for (const name of names) {
    const value = process.env[name];
    if (value !== undefined) inherited[name] = value;
  }
  const path = inherited.PATH ?? standardPath;
  return {
    ...inherited,
    ...(home === undefined ? {} : { HOME: home }),
    PATH: env.docker ? `${env.docker.binDir}:${path}` : path,
    ...(env.docker ? { DOCKER_HOST: env.docker.host } : {}),
    TERM: "xterm-256color",
    FORCE_COLOR: "1",
    CLICOLOR_FORCE: "1",
    HELIX_GOLDEN_BUILD: env.buildId !== undefined ? "true" : "false",
    HELIX_DOCKER_DATA_ROOT: env.dockerDir,
    HELIX_PROJECT_ID: env.projectId,
    ...(env.buildId !== undefined ? { HELIX_BUILD_ID: env.buildId } : { HELIX_SESSION_ID: env.sessionId }),
  };
}

export interface ScriptExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface RunningScript {
  pid: number | undefined;
  /**
   * Settles when the script exits. By then its whole process group has been killed too, and for
   * a build every process still carrying its build ID (killLeftovers): what it left running in the
   * background must not outlive it, nor keep writing into a Docker directory that is about to be
   * promoted or removed.
   */
  exited: Promise<ScriptExit>;
  /** SIGTERM to the group now, SIGKILL after the grace period if it is still there. */
  terminate: () => void;
}

/** Starts the script and hands back how to wait for it and how to end it. */
export function startStartupScript(options: {
  command: ScriptCommand;
  logFd: number;
  /** A build's ID: whatever still carries it in its environment is ended with the script. */
  buildId?: string;
  stopGraceMs: number;
}): RunningScript {
  const child = spawnStartupScript(options);
  const pid = child.pid;
  let killTimer: NodeJS.Timeout | undefined;
  // Listened to at once: a quick script can exit before the caller's next await.
  const exited = new Promise<ScriptExit>((resolve, reject) => {
    child.once("exit", (code, signal) => {
      clearTimeout(killTimer);
      if (pid !== undefined) signalGroup(pid, "SIGKILL");
      const escaped = options.buildId === undefined ? Promise.resolve() : killLeftovers(options.buildId);
      void escaped.then(() => resolve({ code, signal }));
    });
    child.once("error", reject);
  });
  return {
    pid,
    exited,
    terminate: () => {
      if (pid === undefined) return;
      signalGroup(pid, "SIGTERM");
      killTimer ??= setTimeout(() => signalGroup(pid, "SIGKILL"), options.stopGraceMs);
    },
  };
}

/** Signals every process of the group; a group that is already gone is fine. */
function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error;
  }
}

export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `Startup script was killed by ${signal}`;
  return `Startup script exited with code ${code}`;
}

/**
 * Ends whatever a build left behind, also a build of a previous run of the service: every process
 * whose environment names the build (the startup script's whole tree inherits HELIX_BUILD_ID),
 * never anything else.
 */
export async function killLeftovers(buildId: string): Promise<void> {
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
