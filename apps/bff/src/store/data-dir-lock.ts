// PGlite is one process's database: a second process opening the same data directory would
// corrupt it. The BFF claims the directory with a pid file while it runs, and the admin command
// refuses to open a directory a live BFF holds.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

function pidFile(dataDir: string): string {
  return path.join(dataDir, "bff.pid");
}

/** The pid of a live process holding the directory, or null. */
export function dataDirHolder(dataDir: string): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile(dataDir), "utf8").trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    // EPERM: alive but someone else's; ESRCH: gone, the file is stale.
    return (err as NodeJS.ErrnoException).code === "EPERM" ? pid : null;
  }
}

/** Claims the directory for this process; throws when a live process holds it. */
export function claimDataDir(dataDir: string): () => void {
  const holder = dataDirHolder(dataDir);
  if (holder !== null) {
    throw new Error(`Another BFF (pid ${holder}) is using the data directory ${dataDir}; stop it first.`);
  }
  writeFileSync(pidFile(dataDir), `${process.pid}\n`);
  return () => rmSync(pidFile(dataDir), { force: true });
}
