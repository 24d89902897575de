// bench/bff-read: what reading one project costs the BFF, beside the floor. The real BFF app
// (built as its tests build it, the sandbox played by the mock sandbox over HTTP) and a bare
// route that reads the same project document with one statement run in one child process on
// one store and answer over real HTTP on loopback ports; the load comes from this process.
// Each is measured at full speed (20 connections, closed loop) and at a steady 200 requests/s
// (open loop, latency from each request's planned moment), first with nothing else going on,
// then while builds run and 50 event streams are open. The two take turns, ROUNDS times, so a
// neighbour's burst of work on the machine falls on both. On PGlite, and on a throwaway
// PostgreSQL server when its binaries are here.
//
//   npm run bench:bff-read
//   STORES=pglite,postgres LOADS=idle,busy ROUNDS=3 CLOSED_SECONDS=4 STEADY_SECONDS=5 npm run bench:bff-read
//   BENCH_CPU_PROF=/tmp/prof npm run bench:bff-read     (a CPU profile of the server process per store)
import { spawn } from "node:child_process";
import { cpus } from "node:os";
import path from "node:path";
import { createMockSandboxServer } from "@prewarm/mock-sandbox/serve";
import autocannon, { type Result } from "autocannon";
import { postgresUnavailable, startPostgresServer } from "../packages/test-kit/src/postgres-server.ts";
import { freePort } from "../packages/test-kit/src/processes.ts";
import type { ChildMessage, ParentMessage, ReadServers } from "./support/bff-read-server.ts";
import { keepBusy } from "./support/busy-projects.ts";
import { percentile, steadyLoad } from "./support/steady-load.ts";

const stores = (process.env.STORES ?? "pglite,postgres").split(",") as ("pglite" | "postgres")[];
const loads = (process.env.LOADS ?? "idle,busy").split(",");
const rounds = Number(process.env.ROUNDS ?? 3);
const warmupSeconds = Number(process.env.WARMUP_SECONDS ?? 2);
const closedSeconds = Number(process.env.CLOSED_SECONDS ?? 4);
const steadySeconds = Number(process.env.STEADY_SECONDS ?? 5);
const connections = 20;
const steadyRate = 200;
const streams = 50;
const buildingProjects = 10;
const storeNames = { pglite: "PGlite", postgres: "PostgreSQL server" } as const;

interface Measurement {
  /** Median over the rounds. */
  perSecond: number;
  /** The server process's CPU time per read at full speed (the store's too, on PGlite), median over the rounds. */
  cpuMicrosPerRead: number;
  /** Over every round's requests at the steady rate. */
  p50: number;
  p99: number;
  /** Statements the store ran per read at the steady rate; meaningful only with nothing else going on. */
  statementsPerRead: number;
}

interface Row {
  store: string;
  load: "idle" | "busy";
  bff: Measurement;
  baseline: Measurement;
}

type Usage = () => Promise<{ statements: number; cpuMicros: number }>;

const rows: Row[] = [];
const notes: string[] = [];
let documentBytes = 0;
const sandboxPort = await freePort();
const mock = createMockSandboxServer({ port: sandboxPort });

try {
  for (const store of stores) {
    const unavailable = store === "postgres" ? postgresUnavailable() : null;
    if (unavailable) {
      notes.push(`${storeNames[store]} skipped: ${unavailable}.`);
      continue;
    }
    const postgres = store === "postgres" ? await startPostgresServer() : null;
    const server = await startReadServers({
      STORE: store,
      SANDBOX_URL: mock.baseUrl,
      ...(postgres ? { DATABASE_URL: postgres.url } : {}),
    });
    try {
      const { ready } = server;
      documentBytes = ready.documentBytes;
      const headers = { authorization: `Bearer ${ready.token}` };
      const [readId = "", ...others] = ready.projectIds;
      const urls = {
        bff: `${ready.bffUrl}/api/v1/projects/${readId}`,
        baseline: `${ready.baselineUrl}/api/v1/projects/${readId}`,
      };
      const measureBoth = async (load: Row["load"]) => {
        const { bff, baseline } = await compare(urls, headers, server.usage);
        rows.push({ store: storeNames[store], load, bff, baseline });
      };
      if (loads.includes("idle")) await measureBoth("idle");
      if (!loads.includes("busy")) continue;
      const busy = await keepBusy({
        bffUrl: ready.bffUrl,
        headers,
        sandbox: mock.sandbox,
        building: others.slice(0, buildingProjects),
        watched: readId,
        streams,
        turnMs: 100,
      });
      const receivedBefore = busy.received();
      const started = performance.now();
      await measureBoth("busy");
      const seconds = (performance.now() - started) / 1000;
      const received = busy.received() - receivedBefore;
      await busy.stop();
      notes.push(
        `${storeNames[store]}, busy: ${buildingProjects} projects building, ${streams} streams open, ` +
          `${(received / seconds).toFixed(0)} project states/s pushed to them during the measurement.`,
      );
    } finally {
      await server.exit();
      await postgres?.stop();
      mock.sandbox.reset();
    }
  }
} finally {
  mock.server.close();
}

report();

/** Both contenders, taking turns: full speed ROUNDS times each, then the steady rate ROUNDS times each. */
async function compare<K extends string>(urls: Record<K, string>, headers: Record<string, string>, usage: Usage) {
  const names = Object.keys(urls) as K[];
  const closed = new Map(names.map((name) => [name, [] as { perSecond: number; cpuMicrosPerRead: number }[]]));
  const steady = new Map(names.map((name) => [name, { latencies: [] as number[], statements: 0 }]));
  for (const name of names) await fullSpeed(urls[name], headers, warmupSeconds);
  for (let round = 0; round < rounds; round++) {
    for (const name of names) {
      const before = await usage();
      const result = await fullSpeed(urls[name], headers, closedSeconds);
      const after = await usage();
      closed.get(name)?.push({
        perSecond: result.reads / result.seconds,
        cpuMicrosPerRead: (after.cpuMicros - before.cpuMicros) / result.reads,
      });
    }
  }
  for (let round = 0; round < rounds; round++) {
    for (const name of names) {
      const before = await usage();
      const result = await steadyLoad({ url: urls[name], headers, rate: steadyRate, seconds: steadySeconds });
      const after = await usage();
      if (result.failed) throw new Error(`${urls[name]}: ${result.failed} reads failed at ${steadyRate}/s`);
      const pooled = steady.get(name);
      pooled?.latencies.push(...result.latencies);
      if (pooled) pooled.statements += after.statements - before.statements;
    }
  }
  return Object.fromEntries(
    names.map((name) => {
      const slices = closed.get(name) ?? [];
      const { latencies, statements } = steady.get(name) ?? { latencies: [], statements: 0 };
      latencies.sort((a, b) => a - b);
      const measurement: Measurement = {
        perSecond: median(slices.map((slice) => slice.perSecond)),
        cpuMicrosPerRead: median(slices.map((slice) => slice.cpuMicrosPerRead)),
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        statementsPerRead: statements / latencies.length,
      };
      return [name, measurement];
    }),
  ) as Record<K, Measurement>;
}

async function fullSpeed(url: string, headers: Record<string, string>, seconds: number) {
  const failures = new Map<string, number>();
  const result = await new Promise<Result>((resolve, reject) => {
    const run = autocannon({ url, headers, connections, duration: seconds }, (error, done) =>
      error ? reject(error) : resolve(done),
    );
    run.on("reqError", (error) => {
      const kind = error.code ?? error.message;
      failures.set(kind, (failures.get(kind) ?? 0) + 1);
    });
  });
  if (result.non2xx || result.errors || result.timeouts) {
    const kinds = [...failures].map(([kind, count]) => `${kind} ×${count}`).join(", ");
    throw new Error(
      `${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors (${kinds}), ${result.timeouts} timeouts`,
    );
  }
  return { reads: result.requests.total, seconds: result.duration };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** Starts bench/support/bff-read-server.ts and waits until both of its servers listen. */
async function startReadServers(env: Record<string, string>) {
  const profile = process.env.BENCH_CPU_PROF;
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      ...(profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : []),
      path.join(import.meta.dirname, "support/bff-read-server.ts"),
    ],
    { env: { ...process.env, ...env }, stdio: ["ignore", "inherit", "inherit", "ipc"] },
  );
  const next = <K extends ChildMessage["kind"]>(kind: K) =>
    new Promise<Extract<ChildMessage, { kind: K }>>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the read servers exited with ${code}`));
      const onMessage = (message: ChildMessage) => {
        if (message.kind !== kind) return;
        child.off("message", onMessage);
        child.off("exit", onExit);
        resolve(message as Extract<ChildMessage, { kind: K }>);
      };
      child.on("message", onMessage);
      child.once("exit", onExit);
    });
  const send = (message: ParentMessage) => child.send(message);
  const ready: ReadServers = await next("ready");
  return {
    ready,
    usage: async () => {
      const answer = next("usage");
      send({ kind: "usage" });
      return answer;
    },
    exit: async () => {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      send({ kind: "exit" });
      await exited;
    },
  };
}

function report(): void {
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  const count = (value: number) => Math.round(value).toLocaleString("en-US");
  console.log(
    `\nbff-read: GET /api/v1/projects/{id} with an API token, a ${(documentBytes / 1024).toFixed(1)} KB document; ` +
      `${cpus().length} CPUs, Node.js ${process.versions.node}, ${new Date().toISOString().slice(0, 10)}; ` +
      `medians of ${rounds} rounds\n`,
  );
  console.log(
    `| store | while | read by | requests/s, ${connections} connections | server CPU per read | p50 at ${steadyRate}/s | p99 at ${steadyRate}/s | statements per read | BFF ÷ baseline, requests/s |`,
  );
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const row of rows) {
    const load = row.load === "idle" ? "nothing else" : "builds run, streams open";
    // With builds running, the process's CPU time and statements are not the reads' alone.
    const statements = (m: Measurement) => (row.load === "idle" ? m.statementsPerRead.toFixed(1) : "—");
    const cpu = (m: Measurement) => (row.load === "idle" ? `${count(m.cpuMicrosPerRead)} µs` : "—");
    const ratio = row.bff.perSecond / row.baseline.perSecond;
    for (const [name, m] of [
      ["BFF", row.bff],
      ["one-query baseline", row.baseline],
    ] as const) {
      console.log(
        `| ${row.store} | ${load} | ${name} | ${count(m.perSecond)} | ${cpu(m)} | ${ms(m.p50)} | ${ms(m.p99)} | ${statements(m)} | ${name === "BFF" ? `${ratio.toFixed(2)}×` : ""} |`,
      );
    }
  }
  console.log("");
  for (const note of notes) console.log(note);
  for (const row of rows) {
    const ratio = row.bff.perSecond / row.baseline.perSecond;
    const met = ratio >= 0.5 && row.bff.p99 <= 20;
    console.log(
      `${row.store}, ${row.load}: BFF at ${ratio.toFixed(2)}× the baseline, p99 ${ms(row.bff.p99)} ` +
        `(target ≥ 0.5× and p99 ≤ 20 ms: ${met ? "met" : "not met"})`,
    );
  }
}
