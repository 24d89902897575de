// bench/cold-start: the design note's headline, for real. From "session requested" to "images
// ready" (the session's Docker daemon up and the startup script's build finished), for the demo
// project, without a golden (every image built from scratch) and with one (a copy or a ready
// spare of the golden, a daemon started on it, every step CACHED), side by side in one run on
// the real golden filesystem service with real Docker daemons. Where the warm time goes is read
// off the session's log as it is written: preparing the Docker data, starting the daemon, the
// cached build.
//
//   npm run bench:cold-start     (as root; STEP_SECONDS=50: six slow steps, a five-minute cold build;
//                                 WARM_RUNS=5; BENCH_DIR=/var/tmp, or an XFS mount for reflink spares)
import { mkdtemp, rm } from "node:fs/promises";
import path from "node:path";
import { createDemoRepository, demoStartupScript } from "../apps/bff/src/demo/demo-project.ts";
import { findEngine } from "../apps/sandbox/src/docker/docker-daemon.ts";
import { supportsReflink } from "../apps/sandbox/src/fs/reflink.ts";
import { createLogger } from "../apps/sandbox/src/logger.ts";
import { createServices, prepareRoot } from "../apps/sandbox/src/services.ts";

const stepSeconds = Number(process.env.STEP_SECONDS ?? 50);
const warmRuns = Number(process.env.WARM_RUNS ?? 5);
const benchDir = process.env.BENCH_DIR ?? "/var/tmp";

const docker = await findEngine("on");
const work = await mkdtemp(path.join(benchDir, "bench-cold-start-"));
const repository = path.join(work, "demo-repo");
await createDemoRepository(repository, stepSeconds);
const root = path.join(work, "sandbox");
const reflink = await supportsReflink(work);
const services = createServices({
  root,
  logger: createLogger("warn"),
  stopGraceMs: 2000,
  spareCopies: reflink ? 1 : 0,
  docker,
});
await prepareRoot(services);
const request = {
  project_id: "demo",
  repository_url: repository,
  branch: "main",
  startup_script: demoStartupScript(),
  // The bench project's own user, as the BFF would number it.
  run_user: { uid: 259_990, subuid_start: 600_000_000, subuid_count: 65_536 as const },
};

/** Milestones of a session, in seconds from its request, as its log shows them. */
interface Timeline {
  total: number;
  prepared: number;
  daemonUp: number;
  cached: number;
}

async function session(id: string): Promise<Timeline> {
  const started = performance.now();
  const at = () => (performance.now() - started) / 1000;
  await services.testSessions.start({ session_id: id, ...request });
  const seen = new Map<string, number>();
  const marks = { prepared: /Docker data prepared|No cache/, daemonUp: /Docker \S+ \([^)]+\) is up/ };
  const decoder = new TextDecoder();
  let text = "";
  const reader = (await services.testSessions.log(id, 0, true)).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    for (const [mark, pattern] of Object.entries(marks)) {
      if (!seen.has(mark) && pattern.test(text)) seen.set(mark, at());
    }
  }
  const total = at();
  const ended = await services.testSessions.get(id);
  if (ended.status !== "succeeded")
    throw new Error(`session ${id} ${ended.status}: ${ended.error}\n${text.slice(-2000)}`);
  const cachedSteps = text.match(/CACHED/g)?.length ?? 0;
  console.error(`[${id}] ${total.toFixed(2)} s, ${cachedSteps} steps CACHED`);
  return {
    total,
    prepared: seen.get("prepared") ?? Number.NaN,
    daemonUp: seen.get("daemonUp") ?? Number.NaN,
    cached: cachedSteps,
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

try {
  console.error(`cold: a session with no golden (${stepSeconds} s per slow step) ...`);
  const cold = await session("cold");
  console.error("building the golden ...");
  await services.builds.start({ build_id: "golden", ...request, timeout_seconds: 3600 });
  await services.builds.ended("golden");
  const golden = await services.builds.get("golden");
  if (golden.status !== "succeeded") throw new Error(`golden build ${golden.status}: ${golden.error}`);
  const warm: Timeline[] = [];
  for (let run = 0; run < warmRuns; run++) {
    // A spare is made in the background after each start: let it be ready, as between sessions.
    await services.spares.settled();
    warm.push(await session(`warm${run}`));
  }
  const w = {
    total: median(warm.map((t) => t.total)),
    prepared: median(warm.map((t) => t.prepared)),
    daemonUp: median(warm.map((t) => t.daemonUp)),
  };
  const size = golden.size_bytes ?? 0;
  console.log(
    `cold-start: demo project (${stepSeconds} s per slow step), golden ${(size / 1e6).toFixed(0)} MB on ${reflink ? "a filesystem with reflink (spares ready)" : "a filesystem without reflink (a copy per session)"}, ${new Date().toISOString().slice(0, 10)}\n`,
  );
  console.log("| session | requested → images ready | data prepared | daemon up | cached build | steps CACHED |");
  console.log("|---|---|---|---|---|---|");
  const row = (name: string, t: { total: number; prepared: number; daemonUp: number }, cached: number) =>
    console.log(
      `| ${name} | ${t.total.toFixed(2)} s | ${t.prepared.toFixed(2)} s | ${(t.daemonUp - t.prepared).toFixed(2)} s | ${(t.total - t.daemonUp).toFixed(2)} s | ${cached} |`,
    );
  row("cold (no golden)", cold, cold.cached);
  row(`warm (golden, median of ${warmRuns})`, w, warm[0]?.cached ?? 0);
  console.log(
    `\nwarm is ${(cold.total / w.total).toFixed(0)}× faster; the warm daemon is up with its images ${w.daemonUp.toFixed(2)} s after the request.`,
  );
} finally {
  await services.testSessions.stopAll();
  await services.builds.stopAll();
  await services.spares.stop();
  await rm(work, { recursive: true, force: true });
}
