// Copies a Docker data directory the way `cp -a` does (modes, owners, timestamps, symlinks, hard
// links within the tree, xattrs, sparse files), cloning blocks where the filesystem supports
// reflinks. GNU cp already does all of that correctly, so we drive it rather than reimplement it.
import { spawn } from "node:child_process";

export async function copyTree(source: string, destination: string, signal?: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn("cp", ["-a", "--reflink=auto", "--", source, destination], {
      stdio: ["ignore", "ignore", "pipe"],
      signal,
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code, sig) => {
      if (code === 0) resolve();
      else reject(new CopyError(stderr.trim() || `cp ended with ${sig ?? `code ${code}`}`));
    });
  });
}

export class CopyError extends Error {
  override name = "CopyError";
}
