// Whether this host's Docker daemons can open a golden. A daemon reads only the data of its own
// storage driver: under another one a golden's images are simply not there, so a session handed
// it would start cold while the page promised a warm one.
// Invariant: a golden is handed on only when it holds no daemon data, or data of the storage
// driver this host's daemons use.
import { readdir } from "node:fs/promises";
import path from "node:path";

/** The storage driver whose data a Docker directory holds (dockerd's `image/<driver>/`), or null. */
export async function storageDriverOf(dockerDir: string): Promise<string | null> {
  const drivers = await readdir(path.join(dockerDir, "image")).catch(() => [] as string[]);
  return drivers.sort()[0] ?? null;
}

/** The driver the operator's daemon flags name (`--storage-driver X`, `-s X`, `=X`), or null. */
export function namedStorageDriver(args: readonly string[]): string | null {
  let named: string | null = null;
  args.forEach((arg, index) => {
    const joined = /^(?:--storage-driver|-s)=(.+)$/.exec(arg);
    if (joined) named = joined[1] ?? null;
    else if (arg === "--storage-driver" || arg === "-s") named = args[index + 1] ?? null;
  });
  return named;
}

/** Why a golden of driver `made` cannot be opened by daemons using `host`; null when it can. */
export function unusableReason(made: string | null, host: string | null): string | null {
  if (made === null || host === null || made === host) return null;
  return `The golden was made with Docker's ${made} storage driver, and this sandbox's daemons use ${host}`;
}
