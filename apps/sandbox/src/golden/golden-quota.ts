// The host's limit on the total size of goldens. Invariant: with a quota set, a promotion only
// happens once the goldens, the new one included, fit in it; room is made by evicting the least
// recently used goldens of other projects (last session copy, else build time), never one a copy
// is reading. Promotions pass through one lock here, so two cannot both count the same room.
import prettyBytes from "pretty-bytes";
import type { EventBus } from "../events/event-bus.ts";
import type { Logger } from "../logger.ts";
import { evictions } from "../metrics.ts";
import type { KeyedLocks } from "./golden-locks.ts";
import type { Goldens } from "./goldens.ts";

// Not a valid project ID (they start with a letter or digit), so it cannot collide with one.
const quotaLockKey = "_quota";

class GoldenQuotaError extends Error {
  override name = "GoldenQuotaError";
}

export class GoldenQuota {
  private readonly deps: { goldens: Goldens; locks: KeyedLocks; bus: EventBus; logger: Logger };
  readonly quotaBytes: number | null;

  constructor(deps: { goldens: Goldens; locks: KeyedLocks; bus: EventBus; logger: Logger }, quotaBytes: number | null) {
    this.deps = deps;
    this.quotaBytes = quotaBytes;
  }

  /** Runs `promote` once a golden of `sizeBytes` for the project fits in the quota. */
  async admit<T>(projectId: string, sizeBytes: number, promote: () => Promise<T>): Promise<T> {
    const quota = this.quotaBytes;
    if (quota === null) return promote();
    return this.deps.locks.withLock(quotaLockKey, async () => {
      if (sizeBytes > quota) {
        throw new GoldenQuotaError(
          `The new golden (${prettyBytes(sizeBytes)}) is larger than this sandbox's golden quota (${prettyBytes(quota)})`,
        );
      }
      const goldens = await this.deps.goldens.list();
      let used = sizeBytes + sum(goldens.filter((g) => g.project_id !== projectId).map((g) => g.size_bytes));
      for (const golden of goldens) {
        if (used <= quota) break;
        if (golden.project_id === projectId) continue;
        if (!(await this.deps.goldens.evict(golden.project_id))) continue;
        used -= golden.size_bytes;
        const detail =
          `Evicted to free disk space: goldens on this sandbox may use ${prettyBytes(quota)} together, ` +
          `and a new golden of project ${projectId} (${prettyBytes(sizeBytes)}) needed the room`;
        this.deps.logger.info({ projectId: golden.project_id, for: projectId }, "evicted a golden");
        evictions.inc();
        this.deps.bus.publish({
          type: "golden",
          reason: "evicted",
          golden: await this.deps.goldens.info(golden.project_id),
          detail,
        });
      }
      if (used > quota) {
        throw new GoldenQuotaError(
          `The new golden (${prettyBytes(sizeBytes)}) does not fit in this sandbox's golden quota ` +
            `(${prettyBytes(quota)}): the other goldens are being copied and cannot be evicted now`,
        );
      }
      return promote();
    });
  }
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
