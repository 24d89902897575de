// Invariant: a project's user exists on this host exactly as the BFF numbered it (run_user), or
// not at all: user and group `prewarm-<uid>` with that ID, and that subordinate range in
// /etc/subuid and /etc/subgid under its name. An ID or a range this host already gives to anyone
// else is refused with a reason, never shared or moved: sharing it would let one project reach
// another's files. Users are only ever added, under one lock, so a crash leaves at most a user
// without its ranges, which the next call completes.
import { execFile } from "node:child_process";
import { appendFile, chmod, readFile } from "node:fs/promises";
import { promisify } from "node:util";
import type { components } from "@prewarm/api-types/sandbox";
import { KeyedLocks } from "../golden/golden-locks.ts";

type RunUser = components["schemas"]["RunUser"];

const run = promisify(execFile);
const locks = new KeyedLocks();

/** Where the subordinate ranges are kept; tests of the parsing alone pass other files. */
export interface SubidFiles {
  subuid: string;
  subgid: string;
}

const systemFiles: SubidFiles = { subuid: "/etc/subuid", subgid: "/etc/subgid" };

/** A project's user cannot be made here as numbered; `message` says what is in the way. */
export class RunUserConflict extends Error {
  override name = "RunUserConflict";
}

export function runUserName(user: RunUser): string {
  return `prewarm-${user.uid}`;
}

/** Makes the project's user and its ranges where they are missing; returns its name. */
export async function ensureRunUser(user: RunUser, files: SubidFiles = systemFiles): Promise<string> {
  const name = runUserName(user);
  return locks.withLock("users", async () => {
    const byId = await entry("passwd", String(user.uid));
    if (byId && byId !== name) throw new RunUserConflict(`User ID ${user.uid} belongs to ${byId} on this host`);
    const groupById = await entry("group", String(user.uid));
    if (groupById && groupById !== name) {
      throw new RunUserConflict(`Group ID ${user.uid} belongs to ${groupById} on this host`);
    }
    if (!byId && (await entry("passwd", name))) {
      throw new RunUserConflict(`A user named ${name} exists on this host with another ID`);
    }
    // A host user inside the range would be one of this project's containers' users.
    const inside = await userInRange(user.subuid_start, user.subuid_count);
    if (inside) {
      throw new RunUserConflict(
        `User ${inside.name} (${inside.uid}) of this host is inside ${name}'s range ${user.subuid_start}:${user.subuid_count}`,
      );
    }
    for (const file of [files.subuid, files.subgid]) await ensureRange(file, name, user);
    if (!groupById) await shadowTool("groupadd", ["--system", "--gid", String(user.uid), name]);
    if (!byId) {
      await shadowTool("useradd", [
        "--system",
        "--no-create-home",
        "--uid",
        String(user.uid),
        "--gid",
        String(user.uid),
        "--home-dir",
        "/nonexistent",
        "--shell",
        "/usr/sbin/nologin",
        name,
      ]);
    }
    return name;
  });
}

/**
 * groupadd and useradd refuse while another process (another service on the host) holds the
 * lock of /etc/passwd or /etc/group: they are tried again for a few seconds.
 */
async function shadowTool(program: string, args: string[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await run(program, args);
      return;
    } catch (error) {
      const stderr = String((error as { stderr?: string }).stderr ?? "");
      if (!/lock/i.test(stderr) || attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 100));
    }
  }
}

/** A user of this host whose ID is in [start, start + count), or null. */
async function userInRange(start: number, count: number): Promise<{ name: string; uid: number } | null> {
  const { stdout } = await run("getent", ["passwd"], { maxBuffer: 64 * 1024 * 1024 });
  for (const line of stdout.split("\n")) {
    const [name = "", , id = ""] = line.split(":");
    const uid = Number(id);
    if (name && uid >= start && uid < start + count) return { name, uid };
  }
  return null;
}

/** The name `getent` gives an ID or a name in `database`, or null when it knows none. */
async function entry(database: "passwd" | "group", key: string): Promise<string | null> {
  try {
    const { stdout } = await run("getent", [database, key]);
    return stdout.split(":")[0] || null;
  } catch {
    return null; // getent exits 2 for a key it does not know
  }
}

interface Range {
  owner: string;
  start: number;
  count: number;
}

export function parseRanges(text: string): Range[] {
  return text
    .split("\n")
    .map((line) => line.trim().split(":"))
    .filter((parts) => parts.length === 3 && parts[0] !== "" && !parts[0]?.startsWith("#"))
    .map(([owner = "", start = "", count = ""]) => ({ owner, start: Number(start), count: Number(count) }));
}

/** Adds `name`'s range to a subordinate ID file unless it is there; refuses one that overlaps. */
async function ensureRange(file: string, name: string, user: RunUser): Promise<void> {
  const text = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return null;
    throw error;
  });
  const wanted = { start: user.subuid_start, count: user.subuid_count };
  for (const range of parseRanges(text ?? "")) {
    if (range.owner === name) {
      if (range.start === wanted.start && range.count === wanted.count) return;
      throw new RunUserConflict(
        `${file} gives ${name} ${range.start}:${range.count}, not ${wanted.start}:${wanted.count}`,
      );
    }
    // Another's containers would run as this project's user.
    if (range.start <= user.uid && user.uid < range.start + range.count) {
      throw new RunUserConflict(
        `${file} gives ${range.owner} ${range.start}:${range.count}, which holds ${name}'s user ID ${user.uid}`,
      );
    }
    const overlaps = range.start < wanted.start + wanted.count && wanted.start < range.start + range.count;
    if (overlaps) {
      throw new RunUserConflict(
        `${file} gives ${range.owner} ${range.start}:${range.count}, which overlaps ${name}'s ${wanted.start}:${wanted.count}`,
      );
    }
  }
  const separator = text === null || text === "" || text.endsWith("\n") ? "" : "\n";
  await appendFile(file, `${separator}${name}:${wanted.start}:${wanted.count}\n`);
  // Everyone may read who owns which range, as on any Debian host (the service's umask is 077).
  if (text === null) await chmod(file, 0o644);
}
