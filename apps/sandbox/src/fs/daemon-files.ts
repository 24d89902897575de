// How the service reaches the files its Docker daemons wrote. A rootless daemon started by a
// service that is not root writes files of the service's subordinate IDs (whatever containers
// write as their own users) and directories closed even to their owner (overlay's work/): the
// service itself could neither read, copy, measure nor remove them.
// Invariant: every command that walks, copies, measures or removes a tree a daemon may have
// written runs through `reachingDaemonFiles`: as it is where the service is root (root reaches
// every file), else inside a user namespace that maps the service's user to root and its
// subordinate range from 1, exactly as its daemons' rootlesskit does, whose root reaches every
// one of those files and keeps each owner as it is.
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { userInfo } from "node:os";

export interface IdRange {
  start: number;
  count: number;
}

/**
 * The service user's subordinate IDs: its first range in `/etc/subuid` and `/etc/subgid` (by
 * name or by ID), the one its rootless daemons map from 1; null unless it has both.
 */
export async function subordinateIds(): Promise<{ uids: IdRange; gids: IdRange } | null> {
  const { username, uid, gid } = userInfo();
  const uids = await firstRange("/etc/subuid", [username, String(uid)]);
  const gids = await firstRange("/etc/subgid", [username, String(gid), String(uid)]);
  return uids && gids ? { uids, gids } : null;
}

async function firstRange(file: string, owners: string[]): Promise<IdRange | null> {
  const text = await readFile(file, "utf8").catch(() => "");
  for (const line of text.split("\n")) {
    const [owner, start, count] = line.trim().split(":");
    if (owner === undefined || !owners.includes(owner)) continue;
    const range = { start: Number(start), count: Number(count) };
    if (Number.isSafeInteger(range.start) && Number.isSafeInteger(range.count) && range.count > 0) return range;
  }
  return null;
}

let namespace: Promise<string[]> | undefined;

/** `unshare`'s arguments for the namespace; none where the service is root or has no range (then no daemon ran). */
function namespaceArgs(): Promise<string[]> {
  namespace ??= (async () => {
    if (process.getuid?.() === 0) return [];
    const ids = await subordinateIds();
    if (!ids) return [];
    return [
      "/usr/bin/unshare",
      "--map-root-user",
      `--map-users=${ids.uids.start},1,${ids.uids.count}`,
      `--map-groups=${ids.gids.start},1,${ids.gids.count}`,
    ];
  })();
  return namespace;
}

/** A tool that ended with an error: its first line of stderr, or how it ended. */
export class ToolError extends Error {
  override name = "ToolError";
  readonly stderr: string;
  constructor(tool: string, stderr: string, ending: string) {
    super(stderr.trim().split("\n")[0] || `${tool} ended with ${ending}`);
    this.stderr = stderr;
  }
}

/**
 * Runs `argv` to its end where it reaches every file of the service's daemons (in `cwd`, which
 * inside the namespace is entered there); rejects with a ToolError unless it exits 0.
 */
export async function runOnDaemonFiles(
  argv: string[],
  options: { cwd?: string; signal?: AbortSignal; stdin?: Buffer; onStdout?: (chunk: Buffer) => void } = {},
): Promise<void> {
  const unshare = await namespaceArgs();
  const wd = options.cwd ? [`--wd=${options.cwd}`] : [];
  const [command, ...args] = unshare.length === 0 ? argv : [...unshare, ...wd, "--", ...argv];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(command ?? "", args, {
      cwd: unshare.length === 0 ? options.cwd : undefined,
      stdio: [options.stdin ? "pipe" : "ignore", options.onStdout ? "pipe" : "ignore", "pipe"],
      signal: options.signal,
    });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString();
    });
    if (options.onStdout) child.stdout?.on("data", options.onStdout);
    if (options.stdin) {
      child.stdin?.on("error", () => undefined);
      child.stdin?.end(options.stdin);
    }
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === 0) resolve();
      else reject(new ToolError(argv[0] ?? "", stderr, signal ?? `code ${code}`));
    });
  });
}

/** Whether the service reaches every file itself (it is root), so Node's own file calls may walk daemons' trees. */
export async function reachesDaemonFilesItself(): Promise<boolean> {
  return (await namespaceArgs()).length === 0;
}
