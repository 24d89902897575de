// Projects' users for the sandbox's tests: every test project gets one from a range kept for
// tests (IDs 259100-259899), numbered by its ID the way the BFF would number it once, and the
// range's users are removed from the host when the suite ends.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { passable } from "../../src/builds/run-files.ts";
import { RunJail } from "../../src/builds/run-jail.ts";
import { ensureRunUser } from "../../src/builds/run-user.ts";
import type { RunDaemon } from "../../src/docker/docker-daemon.ts";
import type { SandboxServices } from "../../src/services.ts";

const run = promisify(execFile);

export const testUidFirst = 259_100;
const testUids = 800;
const testSubuidFirst = 500_000_000;

/** The run_user a test project's runs carry: the same for the same project, always. */
export function testRunUser(projectId: string): { uid: number; subuid_start: number; subuid_count: 65536 } {
  const n = createHash("sha256").update(projectId).digest().readUInt32BE(0) % testUids;
  return { uid: testUidFirst + n, subuid_start: testSubuidFirst + n * 65_536, subuid_count: 65_536 };
}

/** Removes every user (and its ranges) of the tests' range from the host. */
export async function removeTestRunUsers(): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const passwd = await readFile("/etc/passwd", "utf8");
  for (const line of passwd.split("\n")) {
    const [name, , uid] = line.split(":");
    if (!name?.startsWith("prewarm-")) continue;
    const id = Number(uid);
    if (id < testUidFirst || id >= testUidFirst + testUids) continue;
    // userdel also removes the user's group and its lines in /etc/subuid and /etc/subgid.
    await run("userdel", [name]).catch(() => undefined);
  }
}

/**
 * A daemon on `dockerDir` as a session of the project would have it (a platform's, say): the
 * project's user, rootless, in a jail of its own. `close` stops it and ends the jail.
 */
export async function daemonOfProject(
  services: SandboxServices,
  projectId: string,
  runId: string,
  dockerDir: string,
  logFile: string,
): Promise<{ daemon: RunDaemon | null; close: () => Promise<void> }> {
  const runUser = testRunUser(projectId);
  await ensureRunUser(runUser);
  const user = { uid: runUser.uid, gid: runUser.uid };
  const root = services.layout.root;
  const tmp = path.join(root, `jail-${createHash("sha256").update(runId).digest("hex").slice(0, 8)}`);
  await mkdir(tmp, { recursive: true });
  await chmod(tmp, 0o1777);
  await passable(dockerDir, root, user.gid);
  const jail = await RunJail.open({
    user,
    network: "none",
    limits: { processes: 4096, openFiles: 16_384 },
    tmpDir: tmp,
    keep: [root, await services.daemons.prepareBase()],
  });
  const daemon = await services.daemons.start(runId, dockerDir, logFile, jail).catch(async (error) => {
    await jail.close();
    throw error;
  });
  return {
    daemon,
    close: async () => {
      try {
        await daemon?.stop();
      } finally {
        await jail.close();
        await rm(tmp, { recursive: true, force: true });
      }
    },
  };
}
