// A project's user on this host: made as the BFF numbered it, and refused, with nothing made,
// where that ID or range is someone else's here. Needs root (it adds users), as the service does.
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { ensureRunUser, parseRanges, RunUserConflict } from "../src/builds/run-user.ts";

const isRoot = process.getuid?.() === 0;
// IDs far from anything a host or the BFF's defaults use, removed again after the tests.
const uids = [259_001, 259_002, 259_003, 259_004, 259_005];
const user = (uid: number, subuidStart: number) => ({ uid, subuid_start: subuidStart, subuid_count: 65_536 as const });
let files: { subuid: string; subgid: string };
const dirs: string[] = [];

function removeUser(name: string): void {
  for (const [command, args] of [
    ["userdel", [name]],
    ["groupdel", [name]],
  ] as const) {
    try {
      execFileSync(command, args, { stdio: "ignore" });
    } catch {
      // not there
    }
  }
}

function getent(database: string, key: string): string | null {
  try {
    return execFileSync("getent", [database, key], { encoding: "utf8" }).trim();
  } catch {
    return null;
  }
}

beforeEach(async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "run-user-"));
  dirs.push(dir);
  files = { subuid: path.join(dir, "subuid"), subgid: path.join(dir, "subgid") };
});
afterAll(() => {
  for (const uid of uids) removeUser(`prewarm-${uid}`);
  removeUser("prewarm-squatter");
});

describe("subordinate ID files", () => {
  it("are read as owner:start:count lines, comments and blank lines skipped", () => {
    expect(parseRanges("# ranges\nalice:100000:65536\n\nprewarm-7:300000000:65536\nbroken line\n")).toEqual([
      { owner: "alice", start: 100_000, count: 65_536 },
      { owner: "prewarm-7", start: 300_000_000, count: 65_536 },
    ]);
  });
});

describe.skipIf(!isRoot)("a project's user", () => {
  it("is made with the numbered user and group ID and both ranges, once", async () => {
    const wanted = user(uids[0]!, 310_000_000);
    expect(await ensureRunUser(wanted, files)).toBe("prewarm-259001");
    expect(getent("passwd", "259001")).toBe("prewarm-259001:x:259001:259001::/nonexistent:/usr/sbin/nologin");
    expect(getent("group", "259001")).toMatch(/^prewarm-259001:x:259001:/);
    for (const file of [files.subuid, files.subgid]) {
      expect(await readFile(file, "utf8")).toBe("prewarm-259001:310000000:65536\n");
      expect((await stat(file)).mode & 0o777).toBe(0o644);
    }
    // Asked again (every run asks), nothing changes.
    expect(await ensureRunUser(wanted, files)).toBe("prewarm-259001");
    expect(await readFile(files.subuid, "utf8")).toBe("prewarm-259001:310000000:65536\n");
  });

  it("adds its range beside the ranges others have", async () => {
    await writeFile(files.subuid, "alice:100000:65536");
    await writeFile(files.subgid, "alice:100000:65536\n");
    await ensureRunUser(user(uids[1]!, 310_065_536), files);
    expect(await readFile(files.subuid, "utf8")).toBe("alice:100000:65536\nprewarm-259002:310065536:65536\n");
    expect(await readFile(files.subgid, "utf8")).toBe("alice:100000:65536\nprewarm-259002:310065536:65536\n");
  });

  it("is refused, and nothing made, where its user ID is someone else's", async () => {
    execFileSync("useradd", ["--system", "--no-create-home", "--uid", String(uids[2]), "prewarm-squatter"]);
    await expect(ensureRunUser(user(uids[2]!, 310_131_072), files)).rejects.toThrow(
      new RunUserConflict("User ID 259003 belongs to prewarm-squatter on this host"),
    );
    await expect(readFile(files.subuid, "utf8")).rejects.toThrow(/ENOENT/);
  });

  it("is refused, and nothing made, where its range overlaps another's or it has another", async () => {
    await writeFile(files.subuid, "alice:310196000:65536\n");
    await writeFile(files.subgid, "");
    await expect(ensureRunUser(user(uids[3]!, 310_196_608), files)).rejects.toThrow(
      /gives alice 310196000:65536, which overlaps prewarm-259004's 310196608:65536/,
    );
    expect(getent("passwd", String(uids[3]))).toBeNull();
    expect(await readFile(files.subgid, "utf8")).toBe("");

    // A range that holds its user ID, and a range that holds a user of the host, are others' too.
    await writeFile(files.subuid, "alice:259000:65536\n");
    await expect(ensureRunUser(user(uids[3]!, 310_196_608), files)).rejects.toThrow(
      /gives alice 259000:65536, which holds prewarm-259004's user ID 259004/,
    );
    await writeFile(files.subuid, "");
    await expect(ensureRunUser(user(uids[3]!, 0), files)).rejects.toThrow(
      /User root \(0\) of this host is inside prewarm-259004's range 0:65536/,
    );
    expect(getent("passwd", String(uids[3]))).toBeNull();

    await writeFile(files.subuid, "prewarm-259005:400000000:65536\n");
    await expect(ensureRunUser(user(uids[4]!, 310_262_144), files)).rejects.toThrow(
      /gives prewarm-259005 400000000:65536, not 310262144:65536/,
    );
    expect(getent("passwd", String(uids[4]))).toBeNull();
  });
});

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});
