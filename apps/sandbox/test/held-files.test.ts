// What a run's disk measure finds of the files its processes deleted but still hold: open ones
// and a deleted program still running count, each once; a deleted name whose file has another
// link, and files in memory (tmpfs), do not; and a process with too many files to look through
// is reported rather than measured for ever.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { heldDeletedBytes } from "../src/fs/held-files.ts";

const megabytes = 8;
let dir = "";
const children: ChildProcess[] = [];

beforeAll(async () => {
  // On the host's disk: /tmp may be a tmpfs elsewhere.
  dir = await mkdtemp("/var/tmp/held-files-");
});
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A shell running `script` in the test's directory; resolves once it has printed "ready". */
async function holder(script: string): Promise<number> {
  const child = spawn("/bin/sh", ["-c", `${script}\necho ready\nexec sleep 60`], { cwd: dir, stdio: "pipe" });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => chunk.toString().includes("ready") && resolve());
    child.once("exit", (code) => reject(new Error(`the holder exited with ${code}`)));
  });
  return child.pid ?? 0;
}

const fill = `head -c ${megabytes}M /dev/urandom`;

describe("files a run deleted but holds", () => {
  it("counts an open one and a running deleted program, each once", async () => {
    const open = await holder(`exec 3>open-file; rm open-file; ${fill} >&3; exec 4>>/proc/self/fd/3`);
    // A program padded with data it never reads runs all the same, mapped from its deleted file.
    const program = await holder(
      `cat /bin/sleep > program; ${fill} >> program; chmod +x program; ./program 60 & echo $! > pid; sleep 0.2; rm program`,
    );
    const running = Number(await readFile(path.join(dir, "pid"), "utf8"));
    expect(running).toBeGreaterThan(program);
    const size = megabytes * 1024 * 1024;
    const both = await heldDeletedBytes([open, running], 100_000);
    expect(both.bytes).toBeGreaterThanOrEqual(2 * size);
    expect(both.bytes).toBeLessThan(2 * size + 1024 * 1024);
    // The same file through two descriptors, or two processes, counts once.
    expect((await heldDeletedBytes([open, open], 100_000)).bytes).toBe((await heldDeletedBytes([open], 100_000)).bytes);
  });

  it("leaves out a deleted name whose file has another link, and files in memory", async () => {
    const linked = await holder(`${fill} > a; ln a b; exec 3<a; rm a`);
    const inMemory = await holder(`exec 3>/dev/shm/held-files-$$; rm /dev/shm/held-files-$$; ${fill} >&3`);
    expect(await heldDeletedBytes([linked, inMemory], 100_000)).toEqual({ bytes: 0 });
  });

  it("reports a process with more descriptors and mappings than it may look through", async () => {
    const busy = await holder(`exec 3>x; rm x; ${fill} >&3`);
    expect((await heldDeletedBytes([busy], 5)).tooMany).toBeGreaterThan(5);
  });
});
