// bench/replication: how long a golden takes to be ready on a second host, fetched over loopback
// HTTP from the host that built it (manifest, tar stream, unpacking, checking every path against
// the manifest, promotion), against the floor of `tar c | tar x` of the same tree through a pipe
// in the same run (same flags, no network, no check), and against building it there (what a
// platform that builds on every host pays). Goldens are real Docker data roots made by a real
// dockerd, of each size in REPLICA_MB.
//
//   npm run bench:replication    (as root; REPLICA_MB=300,2000 RUNS=5 by default)
//
// The source is a service process of its own, as another host's would be (in this process it
// would share one thread with the receiver); the receiver runs in this process.
//
// Each measurement starts after `sync` and ends once the golden is promoted (or the pipe is done)
// and a following `sync` has put it on disk, so no contender leaves its writeback to the next.
// The order of the contenders alternates between runs; medians are reported with their ratio to
// the pipe. "first host" makes the source's manifest (once per generation, as the first replica
// does); the others find it kept.
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import path from "node:path";
import { archiveFlags } from "../apps/sandbox/src/golden/golden-archive.ts";
import { GenerationPins, KeyedLocks } from "../apps/sandbox/src/golden/golden-locks.ts";
import { promote } from "../apps/sandbox/src/golden/promote.ts";
import { createLogger } from "../apps/sandbox/src/logger.ts";
import { createServices, prepareRoot, type SandboxServices } from "../apps/sandbox/src/services.ts";
import {
  freePort,
  entries as serviceEntries,
  startService,
  stopGracefully,
} from "../packages/test-kit/src/processes.ts";
import { createRealDockerRoot } from "./support/real-docker-root.ts";

const sizesMb = (process.env.REPLICA_MB ?? "300,2000").split(",").filter(Boolean).map(Number);
const runs = Number(process.env.RUNS ?? 5);
const benchDir = process.env.BENCH_DIR ?? "/var/tmp";
const token = "bench-replication-token-0123456789abcdef";

const sync = () => execFileSync("sync");
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

async function sandboxAt(root: string): Promise<SandboxServices> {
  const services = createServices({ root, logger: createLogger("silent"), stopGraceMs: 1000 });
  await prepareRoot(services);
  return services;
}

/** Milliseconds from a synced start until the work is done and on disk. */
async function timed(work: () => Promise<unknown> | unknown): Promise<number> {
  sync();
  const started = performance.now();
  await work();
  sync();
  return performance.now() - started;
}

/** Where a replication's time went, said after each run of ours. */
const phases: string[] = [];

async function replicateTo(
  receiver: SandboxServices,
  sourceUrl: string,
  buildId: string,
  compression: "none" | "zstd",
): Promise<void> {
  const started = performance.now();
  let checking = 0;
  const unsubscribe = receiver.bus.subscribe(({ event }) => {
    if (event.type === "replication" && event.replication.state === "verifying") checking = performance.now();
  });
  await receiver.replications.start("p1", {
    build_id: buildId,
    source_url: sourceUrl,
    source_token: token,
    compression,
  });
  try {
    for (;;) {
      const replication = receiver.replications.get("p1");
      if (replication?.finished_at) {
        if (replication.state !== "promoted") throw new Error(replication.error ?? replication.state);
        const seconds = (ms: number) => (ms / 1000).toFixed(2);
        phases.push(
          `transfer ${seconds(checking - started)} s, check and promotion ${seconds(performance.now() - checking)} s`,
        );
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    unsubscribe();
  }
}

const results: string[] = [];
for (const mb of sizesMb) {
  const work = await mkdtemp(path.join(benchDir, "bench-replication-"));
  try {
    const sourceRoot = path.join(work, "source");
    const source = await sandboxAt(sourceRoot);
    const receiver = await sandboxAt(path.join(work, "receiver"));
    const buildId = "b1";
    console.error(`[${mb} MB] building the golden with a real dockerd ...`);
    await mkdir(source.layout.buildGenerationDir(buildId), { recursive: true });
    const buildMs = await timed(() => createRealDockerRoot(source.layout.buildDockerDir(buildId), mb));
    // Promoted as a build's success would be (nothing else runs on this root meanwhile).
    const deps = { layout: source.layout, locks: new KeyedLocks(), pins: new GenerationPins() };
    await promote(deps, "p1", { build_id: buildId, built_at: new Date().toISOString(), size_bytes: 0 });
    const golden = path.join(source.layout.generationDir("p1", buildId), "docker");
    const manifestFile = path.join(source.layout.generationDir("p1", buildId), "manifest.json");
    const size = execFileSync("du", ["-sh", "--apparent-size", golden], { encoding: "utf8" }).split("\t")[0];
    const entries = execFileSync("bash", ["-c", `find '${golden}' | wc -l`], { encoding: "utf8" }).trim();
    const port = await freePort();
    const sourceUrl = `http://127.0.0.1:${port}`;
    const sourceService = await startService(
      serviceEntries.sandbox,
      { SANDBOX_ROOT: sourceRoot, SANDBOX_PORT: String(port), SANDBOX_TOKEN: token, SANDBOX_DOCKER: "off" },
      `${sourceUrl}/v1/health`,
    );
    const pipeTarget = path.join(work, "pipe-copy");
    const contenders: { name: string; prepare?: () => Promise<void>; run: () => Promise<unknown> | unknown }[] = [
      {
        name: "tar c | tar x (floor)",
        prepare: () => rm(pipeTarget, { recursive: true, force: true }),
        run: () => {
          const flags = archiveFlags.map((flag) => `'${flag}'`).join(" ");
          execFileSync("bash", [
            "-c",
            `set -o pipefail; mkdir '${pipeTarget}' && tar -C '${golden}' ${flags} -cf - . | tar -C '${pipeTarget}' ${flags} --same-owner -xpf -`,
          ]);
        },
      },
      {
        name: "ours, first host (manifest made)",
        prepare: async () => {
          await rm(manifestFile, { force: true });
          await receiver.goldens.delete("p1");
        },
        run: () => replicateTo(receiver, sourceUrl, buildId, "none"),
      },
      {
        name: "ours (manifest kept)",
        prepare: async () => {
          await receiver.goldens.delete("p1");
        },
        run: () => replicateTo(receiver, sourceUrl, buildId, "none"),
      },
      {
        name: "ours, zstd (manifest kept)",
        prepare: async () => {
          await receiver.goldens.delete("p1");
        },
        run: () => replicateTo(receiver, sourceUrl, buildId, "zstd"),
      },
    ];
    // Warm-up: the first read of the tree comes from the disk for whoever goes first.
    await contenders[1]?.prepare?.();
    await contenders[1]?.run();
    phases.length = 0;
    const times = new Map(contenders.map((c) => [c.name, [] as number[]]));
    for (let run = 0; run < runs; run++) {
      for (const contender of run % 2 === 0 ? contenders : [...contenders].reverse()) {
        await contender.prepare?.();
        const ms = await timed(contender.run);
        times.get(contender.name)?.push(ms);
        const phase = phases.splice(0).join("");
        console.error(
          `[${mb} MB] run ${run + 1}/${runs} ${contender.name}: ${(ms / 1000).toFixed(2)} s${phase ? ` (${phase})` : ""}`,
        );
      }
    }
    await stopGracefully(sourceService);
    const floor = median(times.get(contenders[0]?.name ?? "") ?? []);
    results.push(`\n${mb} MB real Docker data root: ${size} apparent, ${entries} entries; medians of ${runs}`);
    for (const contender of contenders) {
      const ms = median(times.get(contender.name) ?? []);
      results.push(
        `  ${contender.name.padEnd(36)} ${(ms / 1000).toFixed(2).padStart(7)} s   ${(ms / floor).toFixed(2)}x`,
      );
    }
    results.push(
      `  ${"building it there (dockerd)".padEnd(36)} ${(buildMs / 1000).toFixed(2).padStart(7)} s   ${(buildMs / floor).toFixed(2)}x (one build)`,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
console.log(results.join("\n"));
