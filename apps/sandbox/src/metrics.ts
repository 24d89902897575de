// What the golden filesystem service counts for operators, besides HTTP and event streams
// (service-kit's metrics.ts). Sizes and free space are read when Prometheus asks, not kept.

import type { components } from "@prewarm/api-types/sandbox";
import { registry } from "@prewarm/service-kit/metrics";
import { Counter, Gauge, Histogram } from "prom-client";
import { diskFreeBytes } from "./fs/disk.ts";
import type { Goldens } from "./golden/goldens.ts";

type GoldenInfo = components["schemas"]["GoldenInfo"];

export const runsEnded = new Counter({
  name: "prewarm_sandbox_runs_total",
  help: "Runs of startup scripts ended, by kind (build, test_session) and outcome",
  labelNames: ["kind", "outcome"] as const,
  registers: [registry],
});

export const copySeconds = new Histogram({
  name: "prewarm_copy_duration_seconds",
  help: "Copies of a golden's Docker directory, by what they were for (build, session, spare)",
  labelNames: ["purpose"] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
  registers: [registry],
});

export const copyBytes = new Counter({
  name: "prewarm_copy_bytes_total",
  help: "Bytes of golden Docker directories copied, by purpose (reflinked bytes count too)",
  labelNames: ["purpose"] as const,
  registers: [registry],
});

export const evictions = new Counter({
  name: "prewarm_evictions_total",
  help: "Goldens evicted to keep the goldens within the host's quota",
  registers: [registry],
});

/** The goldens' sizes and the root's free space, read at each scrape. */
export function watchGoldens(goldens: Goldens, root: string): void {
  for (const name of ["prewarm_golden_bytes", "prewarm_goldens_bytes", "prewarm_root_free_bytes"]) {
    registry.removeSingleMetric(name);
  }
  // One reading of the goldens per scrape, shared by both gauges (a scrape collects them at once).
  let reading: Promise<GoldenInfo[]> | null = null;
  const read = () => {
    reading ??= goldens.list().finally(() => setImmediate(() => (reading = null)));
    return reading;
  };
  new Gauge({
    name: "prewarm_golden_bytes",
    help: "Size of each project's current golden",
    labelNames: ["project_id"] as const,
    registers: [registry],
    async collect() {
      const all = await read();
      this.reset();
      for (const golden of all) this.set({ project_id: golden.project_id }, golden.size_bytes);
    },
  });
  new Gauge({
    name: "prewarm_goldens_bytes",
    help: "Size of all current goldens together (what the quota counts)",
    registers: [registry],
    async collect() {
      this.set((await read()).reduce((sum, golden) => sum + golden.size_bytes, 0));
    },
  });
  new Gauge({
    name: "prewarm_root_free_bytes",
    help: "Bytes still free for the service on the filesystem of its root",
    registers: [registry],
    async collect() {
      this.set(await diskFreeBytes(root).catch(() => 0));
    },
  });
}

/** Times a copy and counts its bytes under `purpose`. */
export async function measuredCopy<T extends { totalBytes: number }>(
  purpose: "build" | "session" | "spare",
  copy: () => Promise<T>,
): Promise<T> {
  const started = performance.now();
  const progress = await copy();
  copySeconds.observe({ purpose }, (performance.now() - started) / 1000);
  copyBytes.inc({ purpose }, progress.totalBytes);
  return progress;
}
