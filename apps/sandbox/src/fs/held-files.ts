// Disk that a run's processes hold in files they deleted, open (a file descriptor) or mapped
// (mmap, a deleted program): du no longer sees such a file, and a run could otherwise fill the
// disk past its share unseen. Files passed between processes over a socket, and held by nothing
// else meanwhile, are not seen.
// Invariants: nothing here reads a file on a filesystem other than a disk's (ext4, XFS, btrfs,
// overlay, ...): a FUSE filesystem a script mounted could otherwise hang the service on a stat;
// and no more than `maxEntries` descriptors and mappings are looked at, so no run can make the
// measure endless.
import { readdir, readFile, readlink, stat } from "node:fs/promises";

const diskFilesystems = new Set(["ext2", "ext3", "ext4", "xfs", "btrfs", "overlay", "f2fs", "zfs"]);

export interface HeldBytes {
  bytes: number;
  /** How many descriptors and mappings there were, when more than may be looked through (bytes is then 0). */
  tooMany?: number;
}

/**
 * Every mount's filesystem type by mount ID (IDs are the host's, whichever namespace shows them),
 * and whether each device is a disk's, from the mount namespaces of `pids` and the service's own.
 */
async function mountTypes(pids: readonly number[]) {
  const mounts = new Map<string, string>();
  // A device that is anything but a disk in any namespace is never read.
  const devices = new Map<string, boolean>();
  const seen = new Set<string>();
  for (const source of ["/proc/self", ...pids.map((pid) => `/proc/${pid}`)]) {
    const ns = await readlink(`${source}/ns/mnt`).catch(() => null);
    if (ns === null || seen.has(ns)) continue;
    seen.add(ns);
    for (const line of (await readFile(`${source}/mountinfo`, "utf8").catch(() => "")).split("\n")) {
      const [fields = "", after = ""] = line.split(" - ");
      const [id, , device] = fields.split(" ");
      const type = after.split(" ")[0] ?? "";
      if (!id || !device) continue;
      mounts.set(id, type);
      devices.set(device, (devices.get(device) ?? true) && diskFilesystems.has(type));
    }
  }
  return { mounts, devices };
}

/**
 * Bytes of disk held by files that the processes `pids` deleted and keep open or mapped (each file
 * once); `tooMany` when they have more than `maxEntries` descriptors and mappings to look through.
 */
export async function heldDeletedBytes(pids: readonly number[], maxEntries: number): Promise<HeldBytes> {
  const { mounts, devices } = await mountTypes(pids);
  const counted = new Set<string>();
  let entries = 0;
  let bytes = 0;
  const add = async (file: string) => {
    const info = await stat(file).catch(() => null);
    // A deleted name whose file has another link is still seen by du where that link is.
    if (!info?.isFile() || info.nlink > 0 || counted.has(`${info.dev}:${info.ino}`)) return;
    counted.add(`${info.dev}:${info.ino}`);
    bytes += info.blocks * 512;
  };
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    entries += fds.length;
    if (entries > maxEntries) return { bytes: 0, tooMany: entries };
    for (const fd of fds) {
      if (!(await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "")).endsWith(" (deleted)")) continue;
      const info = await readFile(`/proc/${pid}/fdinfo/${fd}`, "utf8").catch(() => "");
      const mount = /^mnt_id:\s*(\d+)/m.exec(info)?.[1];
      if (mount !== undefined && diskFilesystems.has(mounts.get(mount) ?? "")) await add(`/proc/${pid}/fd/${fd}`);
    }
    // address perms offset major:minor (hex) inode path
    const maps = (await readFile(`/proc/${pid}/maps`, "utf8").catch(() => "")).split("\n");
    entries += maps.length;
    if (entries > maxEntries) return { bytes: 0, tooMany: entries };
    for (const line of maps) {
      if (!line.endsWith(" (deleted)")) continue;
      const [range, , , device = "", inode] = line.split(/\s+/);
      const [major = "", minor = ""] = device.split(":");
      const dev = `${Number.parseInt(major, 16)}:${Number.parseInt(minor, 16)}`;
      if (inode !== "0" && devices.get(dev) === true) await add(`/proc/${pid}/map_files/${range}`);
    }
  }
  return { bytes };
}
