// Checks out the project's branch into the build's workspace, the way a session would see it.
import { spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";

export async function checkout(options: {
  repositoryUrl: string | null | undefined;
  branch: string;
  workspace: string;
  logFd: number;
  signal: AbortSignal;
}): Promise<void> {
  if (!options.repositoryUrl) {
    await mkdir(options.workspace, { recursive: true });
    return;
  }
  // A local path is cloned through file:// so that it is shallow like a remote clone.
  const source = path.isAbsolute(options.repositoryUrl)
    ? pathToFileURL(options.repositoryUrl).href
    : options.repositoryUrl;
  const args = ["clone", "--quiet", "--depth", "1", "--single-branch", "--branch", options.branch];
  args.push("--", source, options.workspace);
  await new Promise<void>((resolve, reject) => {
    const child = spawn("git", args, {
      stdio: ["ignore", options.logFd, options.logFd],
      signal: options.signal,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/", GIT_TERMINAL_PROMPT: "0" },
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve();
      else reject(new CheckoutError(`Could not check out branch ${options.branch} (git exited with code ${code})`));
    });
  });
}

export class CheckoutError extends Error {
  override name = "CheckoutError";
}
