// What the services write is theirs alone: their files 0600 and directories 0700 whatever umask
// they were started with (a store's pages, password and token hashes, build records and logs).
// What they run for users (startup scripts, Docker daemons) keeps the umask the service was
// started with, so what those write (Docker data above all) has exactly the modes it would have.
import { chmod, readdir, stat } from "node:fs/promises";
import path from "node:path";

let inherited: number | null = null;

/** Closes this process's umask to 077, once, keeping the one it was started with for its children. */
export function closeUmask(): void {
  if (inherited === null) inherited = process.umask(0o077);
}

/** The umask the process was started with: what startup scripts and daemons get. */
export function inheritedUmask(): number {
  return inherited ?? process.umask();
}

/** `umask 0022; exec …`: runs `program` with the inherited umask, through bash, as the same process. */
export function withInheritedUmask(program: string, args: string[]): [string, string[]] {
  const mask = inheritedUmask().toString(8).padStart(4, "0");
  return ["bash", ["-c", `umask ${mask}; exec "$0" "$@"`, program, ...args]];
}

/** The mode of `dir` ("0755") when it lets other users in beyond `allowed` (0o700 or 0o711); null when not. */
export async function looserMode(dir: string, allowed: number): Promise<string | null> {
  const mode = (await stat(dir)).mode & 0o777;
  return mode & ~allowed ? `0${mode.toString(8)}` : null;
}

/**
 * Takes every permission of the group and others from what is under `dir` (not `dir` itself:
 * the operator's, and warned about by `looserThan`).
 */
export async function closeContents(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) await closeContents(full);
    await chmod(full, (await stat(full)).mode & 0o700);
  }
}
