// The host's limit on the total size of goldens. Invariant: with a quota set, a promotion only
// happens once the goldens, the new one included, fit in it; room is made by evicting the least
// recently used goldens of other projects (last session copy, else build time), never one a copy
// is reading. Promotions pass through one lock here, so two cannot both count the same room.
// A golden evicted for space is not fetched back from another host (roomForReplica) until it
// fits without evicting another: two projects must not take turns evicting each other.
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
  /** Projects whose golden was evicted here for space, and when. */
  private readonly evictedForSpace = new Map<string, string>();

  constructor(deps: { goldens: Goldens; locks: KeyedLocks; bus: EventBus; logger: Logger }, quotaBytes: number | null) {
    this.deps = deps;
    this.quotaBytes = quotaBytes;
  }

  /** Runs `promote` once a golden of `sizeBytes` for the project fits in the quota. */
  async admit<T>(projectId: string, sizeBytes: number, promote: () => Promise<T>): Promise<T> {
    const quota = this.quotaBytes;
    if (quota === null) return promote();
    const promoted = await this.deps.locks.withLock(quotaLockKey, async () => {
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
        this.evictedForSpace.set(golden.project_id, new Date().toISOString());
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
    this.evictedForSpace.delete(projectId);
    return promoted;
  }

  /**
   * Why a golden of `sizeBytes` for the project is not to be fetched from another host now, or
   * null: it is larger than the quota, or this host evicted the project's golden for space and
   * the other goldens leave it no room.
   */
  async roomForReplica(projectId: string, sizeBytes: number): Promise<string | null> {
    const quota = this.quotaBytes;
    if (quota === null) return null;
    if (sizeBytes > quota) {
      return `The golden (${prettyBytes(sizeBytes)}) is larger than this sandbox's golden quota (${prettyBytes(quota)})`;
    }
    const evictedAt = this.evictedForSpace.get(projectId);
    if (!evictedAt) return null;
    const others = (await this.deps.goldens.list()).filter((g) => g.project_id !== projectId);
    if (sum(others.map((g) => g.size_bytes)) + sizeBytes <= quota) return null;
    return (
      `This sandbox evicted the project's golden for space at ${evictedAt}, and its other goldens ` +
      `leave no room for it (${prettyBytes(sizeBytes)}) within its quota (${prettyBytes(quota)}) yet`
    );
  }
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
