// Small filesystems of a chosen kind, loop-mounted for a test: an ext4 that fills up quickly, an
// XFS with reflink. Needs root and a loop device; where either is missing the test is skipped
// with the reason, never passed silently.
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

export interface LoopMount {
  dir: string;
  unmount: () => Promise<void>;
}

type LoopMountResult = { mount: LoopMount; skip: null } | { mount: null; skip: string };

/**
 * With `directIo`, the loop device writes straight to the disk instead of the page cache of its
 * image file, so the filesystem on it pays for its writes as one on a real disk would.
 */
export async function loopMount(
  kind: "ext4" | "xfs",
  sizeMb: number,
  options: { directIo?: boolean } = {},
): Promise<LoopMountResult> {
  if (process.getuid?.() !== 0) return { mount: null, skip: "loop mounts need root" };
  const work = await mkdtemp(path.join(tmpdir(), `loop-${kind}-`));
  const image = path.join(work, "image");
  const dir = path.join(work, "mnt");
  try {
    execFileSync("truncate", ["-s", `${sizeMb}M`, image]);
    if (kind === "ext4") execFileSync("mkfs.ext4", ["-q", "-F", "-m", "0", image], { stdio: "pipe" });
    else execFileSync("mkfs.xfs", ["-q", "-f", "-m", "reflink=1", image], { stdio: "pipe" });
    execFileSync("mkdir", [dir]);
    if (options.directIo) {
      const device = execFileSync("losetup", ["--find", "--show", "--direct-io=on", image], {
        encoding: "utf8",
      }).trim();
      try {
        execFileSync("mount", [device, dir], { stdio: "pipe" });
      } catch (error) {
        execFileSync("losetup", ["-d", device]);
        throw error;
      }
    } else {
      execFileSync("mount", ["-o", "loop", image, dir], { stdio: "pipe" });
    }
  } catch (error) {
    await rm(work, { recursive: true, force: true });
    const reason = (error as { stderr?: Buffer }).stderr?.toString().trim() || String(error);
    return { mount: null, skip: `cannot loop-mount ${kind} here: ${reason}` };
  }
  return {
    skip: null,
    mount: {
      dir,
      unmount: async () => {
        const device = options.directIo
          ? execFileSync("findmnt", ["-n", "-o", "SOURCE", dir], { encoding: "utf8" }).trim()
          : null;
        try {
          execFileSync("umount", [dir], { stdio: "pipe" });
        } catch {
          execFileSync("umount", ["-l", dir], { stdio: "pipe" });
        }
        // A device set up by hand is not detached by umount (one from `mount -o loop` is).
        if (device?.startsWith("/dev/loop")) execFileSync("losetup", ["-d", device], { stdio: "ignore" });
        await rm(work, { recursive: true, force: true });
      },
    },
  };
}
