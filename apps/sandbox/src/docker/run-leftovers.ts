// What a run's Docker daemon can leave on the host after it is gone: processes (its containerd's
// shims, containers whose root is inside the Docker directory) and mounts (overlay layers, network
// namespaces). Both are found by path, so only what lives under the paths given is ever touched.
import { execFile } from "node:child_process";
import { readdir, readFile, readlink } from "node:fs/promises";
import { promisify } from "node:util";

const run = promisify(execFile);

function isUnder(candidate: string, prefixes: readonly string[]): boolean {
  return prefixes.some((prefix) => candidate === prefix || candidate.startsWith(`${prefix}/`));
}

/**
 * Every process (but this one) whose root, working directory or command line is under one of
 * `prefixes`: a container's processes have their root in its layer, a shim names its containerd's
 * socket, a daemon its data root.
 */
export async function processesUnder(prefixes: readonly string[], owner?: number): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^[0-9]+$/.test(entry) || Number(entry) === process.pid) continue;
    if (owner !== undefined && (await ownerOf(entry)) !== owner) continue;
    const links = await Promise.all(["root", "cwd"].map((name) => readlink(`/proc/${entry}/${name}`).catch(() => "")));
    const cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    const words = cmdline.split("\0").flatMap((word) => word.split("="));
    if ([...links, ...words].some((value) => value.startsWith("/") && isUnder(value, prefixes))) {
      found.push(Number(entry));
    }
  }
  return found;
}

/** The real user ID a process runs as, or null once it is gone. */
async function ownerOf(pid: string): Promise<number | null> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const uid = /^Uid:\s+([0-9]+)/m.exec(status);
  return uid ? Number(uid[1]) : null;
}

/**
 * SIGKILL to every process under `prefixes` (of `owner` only, when given), until none is left;
 * returns how many there were.
 */
export async function killProcessesUnder(prefixes: readonly string[], owner?: number): Promise<number> {
  let killed = 0;
  for (let round = 0; round < 20; round++) {
    const pids = await processesUnder(prefixes, owner);
    if (pids.length === 0) return killed;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
        killed++;
      } catch {
        // Gone already.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(
    `processes under ${prefixes.join(", ")} would not die: ${(await processesUnder(prefixes, owner)).join(", ")}`,
  );
}

/** Mount points under `prefixes`, deepest first (the order they can be unmounted in). */
export async function mountsUnder(prefixes: readonly string[]): Promise<string[]> {
  const table = await readFile("/proc/self/mountinfo", "utf8").catch(() => "");
  const points = table
    .split("\n")
    .map((line) => line.split(" ")[4] ?? "")
    .map((point) =>
      point.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8))),
    )
    .filter((point) => point !== "" && isUnder(point, prefixes));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/**
 * Unmounts everything under `prefixes`; returns the mount points it had to detach lazily (busy),
 * which a caller may count as a fault. Throws if anything is still mounted afterwards.
 */
export async function unmountUnder(prefixes: readonly string[]): Promise<string[]> {
  const detached: string[] = [];
  for (const point of await mountsUnder(prefixes)) {
    try {
      await run("umount", [point]);
    } catch {
      await run("umount", ["-l", point]).catch(() => undefined);
      detached.push(point);
    }
  }
  const left = await mountsUnder(prefixes);
  if (left.length > 0) throw new Error(`still mounted: ${left.join(", ")}`);
  return detached;
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

/** Every process on the host (but this one): its PID namespace and its parent. */
export async function processTable(): Promise<Map<number, { ns: string; ppid: number }>> {
  const table = new Map<number, { ns: string; ppid: number }>();
  for (const entry of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^[0-9]+$/.test(entry) || Number(entry) === process.pid) continue;
    const ns = await readlink(`/proc/${entry}/ns/pid`).catch(() => null);
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => null);
    if (ns === null || stat === null) continue;
    // After the command's name, which may hold anything but ends at the last ')': state, then parent.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    table.set(Number(entry), { ns, ppid });
  }
  return table;
}
