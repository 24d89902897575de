// What the BFF counts for operators, besides HTTP and event streams (service-kit's metrics.ts).
// Builds are counted by the BFF process whose transition in the database took effect, so with
// several replicas the sum over them counts each build once.
import { registry } from "@prewarm/service-kit/metrics";
import { Counter, Gauge, Histogram } from "prom-client";

export const buildsStarted = new Counter({
  name: "prewarm_builds_started_total",
  help: "Golden builds started, by trigger (queued follow-ups when they start)",
  labelNames: ["trigger"] as const,
  registers: [registry],
});

export const buildsEnded = new Counter({
  name: "prewarm_builds_ended_total",
  help: "Golden builds ended, by trigger and outcome (succeeded, failed, stopped, interrupted)",
  labelNames: ["trigger", "outcome"] as const,
  registers: [registry],
});

export const buildSeconds = new Histogram({
  name: "prewarm_build_duration_seconds",
  help: "From a build's start to its end, by outcome",
  labelNames: ["outcome"] as const,
  buckets: [5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200],
  registers: [registry],
});

export const queueWaitSeconds = new Histogram({
  name: "prewarm_build_queue_wait_seconds",
  help: "How long a queued follow-up build waited for the running one to end",
  buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600],
  registers: [registry],
});

export const loginFailures = new Counter({
  name: "prewarm_login_failures_total",
  help: "Failed logins: wrong name or password, a spent or expired login link, or throttled",
  labelNames: ["reason"] as const,
  registers: [registry],
});

/** Reads the sandbox's reachability as the build monitor last saw it, at each scrape. */
export function watchSandboxReachability(reachable: () => boolean): void {
  registry.removeSingleMetric("prewarm_sandbox_reachable");
  new Gauge({
    name: "prewarm_sandbox_reachable",
    help: "1 while the sandbox's event stream is connected, 0 while it cannot be reached",
    registers: [registry],
    collect() {
      this.set(reachable() ? 1 : 0);
    },
  });
}
