// How the service reaches the files its Docker daemons wrote. A rootless daemon started by a
// service that is not root writes files of the service's subordinate IDs (whatever containers
// write as their own users) and directories closed even to their owner (overlay's work/): the
// service itself could neither read, copy, measure nor remove them.
// Invariant: every command that walks, copies, measures or removes a tree a daemon may have
// written runs through `runOnDaemonFiles`: as it is where the service is root (root reaches every
// file) or where it cannot run rootless daemons (no daemon wrote anything), and otherwise under
// rootlesskit, in the very user namespace its daemons get (the user as root, every subordinate
// range mapped after it), whose root reaches every one of those files and keeps each owner.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";
import { inDirectory } from "../builds/run-jail.ts";

const rootlesskit = "/usr/bin/rootlesskit";

/** The namespace's wrapper for one command: a state directory of its own, removed when it exits. */
function underRootlesskit(): string[] {
  return [rootlesskit, "--net=host", `--state-dir=${path.join(tmpdir(), `prewarm-files-${randomUUID()}`)}`];
}

let problem: Promise<string | null> | undefined;

/**
 * Why the service cannot reach files of its subordinate IDs (null when it can, or is root):
 * rootlesskit must run and map at least one subordinate range. Tried once, by running it.
 */
export function daemonFilesProblem(): Promise<string | null> {
  problem ??= (async () => {
    if (process.getuid?.() === 0) return null;
    let said = "";
    const probe = startTool([...underRootlesskit(), "cat", "/proc/self/uid_map"], {});
    probe.stdout.on("data", (chunk: Buffer) => (said += chunk.toString()));
    const mapped = await probe.done.then(
      () => said.trim().split("\n").length,
      (error: Error) => error,
    );
    if (mapped instanceof Error) return `rootlesskit could not make a user namespace (${mapped.message})`;
    if (mapped >= 2) return null;
    return (
      "its user has no subordinate IDs in /etc/subuid and /etc/subgid " +
      "(usermod --add-subuids 100000-165535 --add-subgids 100000-165535 <user>)"
    );
  })();
  return problem;
}

/** Whether commands on daemons' files run under rootlesskit (the service is not root, and can). */
async function throughNamespace(): Promise<boolean> {
  return process.getuid?.() !== 0 && (await daemonFilesProblem()) === null;
}

/**
 * How the owners of files are numbered in what the tools here see: as the host numbers them, or
 * relative to the service's user namespace (a service that is not root: 0 is its own user).
 */
export async function ownerNumbering(): Promise<"host" | "namespace"> {
  return (await throughNamespace()) ? "namespace" : "host";
}

/** Whether the service reaches every file itself, so Node's own file calls may walk daemons' trees. */
export async function reachesDaemonFilesItself(): Promise<boolean> {
  return !(await throughNamespace());
}

/** A tool that ended with an error: its first line of stderr, or how it ended. */
export class ToolError extends Error {
  override name = "ToolError";
  readonly stderr: string;
  constructor(tool: string, stderr: string, ending: string) {
    // rootlesskit's own lines say only that its command failed.
    const said = stderr.split("\n").find((line) => line.trim() !== "" && !line.startsWith("[rootlesskit:"));
    super(said?.trim() || `${tool} ended with ${ending}`);
    this.stderr = stderr;
  }
}

interface ToolOptions {
  cwd?: string;
  signal?: AbortSignal;
  /** What the tool reads: all of it at once, or a stream it reads at its own pace. */
  stdin?: Buffer | Readable;
  onStdout?: (chunk: Buffer) => void;
}

/** A tool that is running: what it writes, read at the reader's pace, and how it ends. */
export interface RunningTool {
  stdout: Readable;
  /** Resolves when it exits 0; rejects with a ToolError otherwise. */
  done: Promise<void>;
}

/**
 * Runs `argv` to its end where it reaches every file of the service's daemons (in `cwd`, which
 * under rootlesskit is entered inside the namespace); rejects with a ToolError unless it exits 0.
 */
export async function runOnDaemonFiles(argv: string[], options: ToolOptions = {}): Promise<void> {
  const { onStdout, ...rest } = options;
  const tool = await startOnDaemonFiles(argv, rest);
  if (onStdout) tool.stdout.on("data", onStdout);
  else tool.stdout.resume();
  return tool.done;
}

/** Starts `argv` as runOnDaemonFiles does, for a caller that streams what it writes. */
export async function startOnDaemonFiles(
  argv: string[],
  options: Omit<ToolOptions, "onStdout"> = {},
): Promise<RunningTool> {
  if (!(await throughNamespace())) return startTool(argv, options);
  return startTool([...underRootlesskit(), ...inDirectory(options.cwd, argv)], { ...options, cwd: undefined });
}

/** Starts a tool that needs no namespace (it reads and writes only bytes, such as zstd). */
export function startTool(argv: string[], options: Omit<ToolOptions, "onStdout">): RunningTool {
  const child = spawn(argv[0] ?? "", argv.slice(1), {
    cwd: options.cwd,
    stdio: [options.stdin ? "pipe" : "ignore", "pipe", "pipe"],
    signal: options.signal,
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    if (stderr.length < 4096) stderr += chunk.toString();
  });
  if (options.stdin) {
    // A tool that ends early (an error, a kill) stops reading: that is its error to report, not this pipe's.
    child.stdin?.on("error", () => undefined);
    if (Buffer.isBuffer(options.stdin)) child.stdin?.end(options.stdin);
    else if (child.stdin) options.stdin.pipe(child.stdin);
  }
  const done = new Promise<void>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === 0) resolve();
      else reject(new ToolError(path.basename(argv[0] ?? ""), stderr, signal ?? `code ${code}`));
    });
  });
  // Read by the caller; with no reader, its error is the tool's, reported by `done`.
  done.catch(() => undefined);
  return { stdout: child.stdout as Readable, done };
}
