// bench/golden-copy: how long a session's Docker directory takes to prepare from a golden, our
// copy against `cp -a` side by side in the same run, on the host's filesystem and on a
// loop-mounted XFS with reflink; and how long promoting such a golden takes. Goldens are real
// Docker data roots made by a real dockerd (images with many small files and large layers,
// whiteouts, a volume, a stopped container) at each size of GOLDENS_MB, and a synthetic ~2 GB tree
// shaped like overlay2 (tens of thousands of small files, blobs, symlinks, hard links).
//
//   npm run bench:golden-copy    (as root; GOLDENS_MB=200,1000,3000 SYNTHETIC_MB=2000 RUNS=5 by default)
//
// Each measurement is preceded by `sync`, so one run's writeback does not slow the next, and is
// reported twice: until the copy returns (its data may still sit in the page cache) and until a
// following `sync` has put it on disk. The order of the contenders alternates between runs.
// Medians are reported with their ratio.
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import path from "node:path";
import { type CopyPlan, planCopy } from "../apps/sandbox/src/fs/copy-plan.ts";
import { copyTree } from "../apps/sandbox/src/fs/copy-tree.ts";
import { GenerationPins, KeyedLocks } from "../apps/sandbox/src/golden/golden-locks.ts";
import { promote } from "../apps/sandbox/src/golden/promote.ts";
import { SandboxLayout } from "../apps/sandbox/src/layout.ts";
import { createDockerTree, type DockerTreeOptions } from "../apps/sandbox/test/support/docker-tree.ts";
import { loopMount } from "../apps/sandbox/test/support/loop-mount.ts";
import { createRealDockerRoot } from "./support/real-docker-root.ts";

const realSizesMb = (process.env.GOLDENS_MB ?? "200,1000,3000").split(",").filter(Boolean).map(Number);
const goldenMb = Number(process.env.SYNTHETIC_MB ?? 2000);
/** The goldens to copy: real Docker data roots of each size, then the synthetic tree. */
const goldens: { name: string; create: (dir: string) => Promise<void> }[] = [
  ...realSizesMb.map((mb) => ({
    name: `real ${mb} MB`,
    create: (dir: string) => createRealDockerRoot(dir, mb),
  })),
  ...(goldenMb > 0
    ? [{ name: `synthetic ${goldenMb} MB`, create: (dir: string) => createDockerTree(dir, treeFor(goldenMb)) }]
    : []),
];
// Which parts to run: any of host, xfs, promotion (all by default).
const parts = new Set((process.env.PARTS ?? "host,xfs,promotion").split(","));
const runs = Number(process.env.RUNS ?? 5);
const hostDir = process.env.BENCH_DIR ?? "/var/tmp";

// ~16% small files (8 KB each), the rest large blobs, in 40 layers.
function treeFor(megabytes: number): DockerTreeOptions {
  const layers = 40;
  const bytes = megabytes * 1_000_000;
  const filesPerLayer = Math.max(10, Math.round((bytes * 0.16) / 8000 / layers));
  return { layers, filesPerLayer, smallFileBytes: 8000, blobBytes: Math.round((bytes * 0.84) / layers) };
}

const sync = () => execFileSync("sync");
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** Milliseconds until `work` returns, and until its data is on disk. */
async function time(work: () => Promise<unknown> | unknown): Promise<{ ms: number; durableMs: number }> {
  sync();
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  sync();
  return { ms, durableMs: performance.now() - started };
}

interface Contender {
  name: string;
  /** Untimed work before each timed copy. */
  prepare?: (source: string) => Promise<unknown>;
  copy: (source: string, destination: string) => Promise<unknown> | unknown;
}

async function compare(label: string, root: string, golden: (typeof goldens)[number], contenders: Contender[]) {
  const source = path.join(root, "golden");
  console.error(`[${label}] creating the ${golden.name} golden in ${root} ...`);
  await golden.create(source);
  sync();
  await contenders.find((c) => c.name === "ours")?.copy(source, path.join(root, "warm-up"));
  await rm(path.join(root, "warm-up"), { recursive: true, force: true });
  const size = execFileSync("du", ["-sh", "--apparent-size", source], { encoding: "utf8" }).split("\t")[0];
  const files = execFileSync("bash", ["-c", `find '${source}' | wc -l`], { encoding: "utf8" }).trim();
  const times = new Map(contenders.map((c) => [c.name, [] as number[]]));
  const durable = new Map(contenders.map((c) => [c.name, [] as number[]]));
  for (let run = 0; run < runs; run++) {
    const order = run % 2 === 0 ? contenders : [...contenders].reverse();
    for (const contender of order) {
      const destination = path.join(root, `copy-${run}`);
      await contender.prepare?.(source);
      const { ms, durableMs } = await time(() => contender.copy(source, destination));
      times.get(contender.name)?.push(ms);
      durable.get(contender.name)?.push(durableMs);
      console.error(
        `[${label}] run ${run + 1}/${runs} ${contender.name}: ${(ms / 1000).toFixed(2)} s, on disk ${(durableMs / 1000).toFixed(2)} s`,
      );
      await rm(destination, { recursive: true, force: true });
    }
  }
  await rm(source, { recursive: true, force: true });
  plans.delete(source);
  return {
    label: `${label}, ${golden.name}`,
    size,
    files,
    medians: contenders.map((c) => ({
      name: c.name,
      ms: median(times.get(c.name) ?? []),
      durableMs: median(durable.get(c.name) ?? []),
    })),
  };
}

const cpA =
  (flags: string[] = []): Contender["copy"] =>
  (source, destination) =>
    execFileSync("cp", ["-a", ...flags, source, destination]);
// A session copy uses the plan its golden got at promotion (one walk, off the session's path).
const plans = new Map<string, CopyPlan>();
const ours: Contender["copy"] = async (source, destination) => {
  let plan = plans.get(source);
  if (!plan) {
    plan = await planCopy(source);
    plans.set(source, plan);
  }
  return copyTree(source, destination, { plan });
};
// With reflink the service keeps a spare copy ready (golden/spares.ts), made in the background
// after the promotion or the previous session start: a session start is then one rename.
const withSpare: Contender = {
  name: "ours, spare ready",
  prepare: async (source) => {
    await rm(`${source}.spare`, { recursive: true, force: true });
    await ours(source, `${source}.spare`);
  },
  copy: (source, destination) => rename(`${source}.spare`, destination),
};

/**
 * Promotes goldens of the same size over each other, as builds' successes would: once with the
 * build's data already on disk (the switch itself), once right after writing it (on ext4 the
 * first fsync then also writes out the build's data). Removing the previous generation happens
 * after the switch, off the build's path, and is not counted.
 */
async function benchPromotion(root: string): Promise<{ synced: number[]; fresh: number[] }> {
  const layout = new SandboxLayout(path.join(root, "sandbox"));
  const deps = { layout, locks: new KeyedLocks(), pins: new GenerationPins() };
  const result = { synced: [] as number[], fresh: [] as number[] };
  for (let run = 0; run < runs * 2; run++) {
    const buildId = `b${run}`;
    const synced = run % 2 === 0;
    await mkdir(layout.buildGenerationDir(buildId), { recursive: true });
    await createDockerTree(layout.buildDockerDir(buildId), treeFor(Math.min(goldenMb, 2000)));
    if (synced) sync();
    const started = performance.now();
    const promotion = await promote(deps, "p1", {
      build_id: buildId,
      built_at: new Date().toISOString(),
      size_bytes: 0,
    });
    (synced ? result.synced : result.fresh).push(performance.now() - started);
    await promotion.retirePrevious();
    await rm(layout.buildDir(buildId), { recursive: true, force: true });
  }
  return result;
}

const results = [];
if (parts.has("host")) {
  const hostRoot = await mkdtemp(path.join(hostDir, "bench-golden-copy-"));
  const hostType = execFileSync("stat", ["-f", "-c", "%T", hostRoot], { encoding: "utf8" }).trim();
  try {
    for (const golden of goldens) {
      results.push(
        await compare(`host ${hostType}`, hostRoot, golden, [
          { name: "cp -a", copy: cpA() },
          { name: "ours", copy: ours },
        ]),
      );
    }
  } finally {
    await rm(hostRoot, { recursive: true, force: true });
  }
}

// Direct I/O: XFS's writes reach the disk, as they would on a real XFS volume, rather than
// landing in the page cache of the image file.
const xfs = parts.has("xfs")
  ? await loopMount("xfs", Math.max(2048, Math.max(goldenMb, ...realSizesMb) * 3), { directIo: true })
  : { mount: null, skip: "not asked for (PARTS)" };
if (xfs.mount) {
  try {
    for (const golden of goldens) {
      results.push(
        await compare("XFS reflink (loop)", xfs.mount.dir, golden, [
          { name: "plain copy (cp -a --reflink=never)", copy: cpA(["--reflink=never"]) },
          { name: "cp -a", copy: cpA() },
          { name: "ours", copy: ours },
          withSpare,
        ]),
      );
    }
  } finally {
    await xfs.mount.unmount();
  }
} else {
  console.error(`[XFS] skipped: ${xfs.skip}`);
}

const promotionRoot = await mkdtemp(path.join(hostDir, "bench-promotion-"));
let promotion = { synced: [] as number[], fresh: [] as number[] };
try {
  if (parts.has("promotion")) {
    console.error(`[promotion] promoting ${runs} goldens of ~${Math.min(goldenMb, 2000)} MB ...`);
    promotion = await benchPromotion(promotionRoot);
  }
} finally {
  await rm(promotionRoot, { recursive: true, force: true });
}

const cpus = execFileSync("nproc", { encoding: "utf8" }).trim();
console.log(`golden-copy: ${runs} runs each, medians, ${cpus} CPUs, ${new Date().toISOString().slice(0, 10)}\n`);
console.log("| filesystem | golden | entries | contender | copy returns | ours ÷ it | on disk (+ sync) | ours ÷ it |");
console.log("|---|---|---|---|---|---|---|---|");
for (const result of results) {
  const ours = result.medians.find((m) => m.name === "ours") ?? { ms: Number.NaN, durableMs: Number.NaN };
  for (const { name, ms, durableMs } of result.medians) {
    const seconds = (value: number) => (value < 100 ? `${value.toFixed(1)} ms` : `${(value / 1000).toFixed(2)} s`);
    console.log(
      `| ${result.label} | ${result.size} | ${result.files} | ${name} | ${seconds(ms)} | ` +
        `${(ours.ms / ms).toFixed(2)}× | ${seconds(durableMs)} | ${(ours.durableMs / durableMs).toFixed(2)}× |`,
    );
  }
}
const summarize = (values: number[]) =>
  values.length === 0 ? "not run" : `median ${median(values).toFixed(1)} ms, max ${Math.max(...values).toFixed(1)} ms`;
console.log(`\npromotion of a ~${Math.min(goldenMb, 2000)} MB golden (${runs} each):`);
console.log(`- its data already on disk: ${summarize(promotion.synced)}`);
console.log(`- right after the build wrote it: ${summarize(promotion.fresh)}`);
