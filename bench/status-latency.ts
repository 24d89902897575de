// bench/status-latency: how soon a browser learns that a build ended. The real golden filesystem
// service and the real BFF run as processes; a startup script that ends at once stamps the moment
// it exits into its log; an event-stream client of the BFF notes when the project's new state
// arrives. The difference, over many builds, beside the original design's 15 s polling.
//
//   npm run bench:status-latency          (BUILDS=50 by default)
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { seedUser } from "../apps/bff/test/seed-user.ts";
import { EventStreamClient } from "../packages/test-kit/src/event-stream.ts";
import { entries, freePort, kill9, startService } from "../packages/test-kit/src/processes.ts";

const builds = Number(process.env.BUILDS ?? 50);
const pollingSeconds = 15;

const root = await mkdtemp(path.join(tmpdir(), "bench-status-latency-"));
const sandboxPort = await freePort();
const bffPort = await freePort();
const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
const bffUrl = `http://127.0.0.1:${bffPort}`;
const sandbox = await startService(
  entries.sandbox,
  // Measures the path of an outcome to the browser; a Docker daemon per build would only add noise.
  { SANDBOX_ROOT: path.join(root, "sandbox"), SANDBOX_PORT: String(sandboxPort), SANDBOX_DOCKER: "off" },
  `${sandboxUrl}/v1/health`,
);
const owner = await seedUser({ dataDir: path.join(root, "bff") });
const auth = { authorization: `Bearer ${owner.token}` };
const bff = await startService(
  entries.bff,
  { PORT: String(bffPort), DATA_DIR: path.join(root, "bff"), SANDBOX_URL: sandboxUrl, WEB_DIST: "" },
  `${bffUrl}/api/v1/health`,
);

const latencies: number[] = [];
try {
  const created = await fetch(`${bffUrl}/api/v1/projects`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    // The last thing the script does is say when it exits, in nanoseconds since the epoch.
    body: JSON.stringify({ name: "latency", startup_script: 'echo "exit-at $(date +%s%N)"' }),
  });
  const { id } = (await created.json()) as { id: string };
  const events = await EventStreamClient.connect(`${bffUrl}/api/v1/projects/${id}/events`, auth);
  for (let i = 0; i < builds; i++) {
    const started = await fetch(`${bffUrl}/api/v1/projects/${id}/docker-cache/builds`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ trigger: "manual" }),
    });
    const { build } = (await started.json()) as { build: { id: string } };
    const event = await events.waitFor((message) => {
      if (message.event !== "project") return false;
      const state = JSON.parse(message.data).metadata.docker_cache_state;
      return state.build_id === build.id && state.status !== "building";
    }, 30_000);
    const arrivedAt = performance.timeOrigin + performance.now();
    const status = JSON.parse(event.data).metadata.docker_cache_state.status;
    if (status !== "ready") throw new Error(`build ${build.id} ended ${status}`);
    const log = await (
      await fetch(`${bffUrl}/api/v1/projects/${id}/docker-cache/builds/${build.id}/log`, { headers: auth })
    ).text();
    const exitNs = /exit-at (\d+)/.exec(log)?.[1];
    if (!exitNs) throw new Error(`no exit stamp in the log of ${build.id}`);
    latencies.push(arrivedAt - Number(BigInt(exitNs) / 1000n) / 1000);
  }
  await events.close();
} finally {
  await kill9(bff);
  await kill9(sandbox);
  await rm(root, { recursive: true, force: true });
}

const sorted = [...latencies].sort((a, b) => a - b);
const percentile = (p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
const p50 = percentile(50);
const p95 = percentile(95);
// Polling every 15 s finds a build that ended at a uniformly random moment of the interval.
const pollingP50 = pollingSeconds * 1000 * 0.5;
const pollingP95 = pollingSeconds * 1000 * 0.95;
console.log(`status-latency: ${latencies.length} builds, ${new Date().toISOString().slice(0, 10)}\n`);
console.log("| from the script's exit to the browser | p50 | p95 | max |");
console.log("|---|---|---|---|");
console.log(`| event stream (ours) | ${p50.toFixed(0)} ms | ${p95.toFixed(0)} ms | ${sorted.at(-1)?.toFixed(0)} ms |`);
console.log(
  `| polling every ${pollingSeconds} s (original design, expected) | ${pollingP50} ms | ${pollingP95} ms | ${pollingSeconds * 1000} ms |`,
);
console.log(
  `\np95 ratio: polling takes ${(pollingP95 / p95).toFixed(0)}× longer (target p95 ≤ 300 ms: ${p95 <= 300 ? "met" : "not met"})`,
);
