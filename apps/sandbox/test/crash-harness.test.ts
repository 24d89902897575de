// The crash harness: the real service, as its own process, runs builds, promotions, session
// copies and deletes; it is killed with SIGKILL at a random moment and started again on the same
// root. After every restart the promises must hold: each golden is one complete generation of a
// build that succeeded, each session directory is one complete generation (or empty), nothing
// is left running or lying around. CRASH_ITERATIONS and CRASH_SEED reproduce a run.
import type { ChildProcess } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { entries, freePort, kill9, seededRandom, startService } from "@prewarm/test-kit/processes";
import { afterAll, expect, it } from "vitest";
import { testRunUser } from "./support/run-users.ts";

// Every run draws a new seed, so the runs add up; CI runs this again on two more Node.js lines.
const iterations = Number(process.env.CRASH_ITERATIONS ?? 30);
const seed = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const projects = ["p0", "p1", "p2"];
const filesPerGolden = 60;
const blobBytes = 3_000_000;

// Every file of a golden names the build that wrote it, so a mix of two builds shows.
const goodScript = [
  "set -e",
  'd="$HELIX_DOCKER_DATA_ROOT"',
  'mkdir -p "$d/overlay2/layer/diff" "$d/volumes/data"',
  `for i in $(seq 1 ${filesPerGolden}); do printf '%s' "$HELIX_BUILD_ID" > "$d/overlay2/layer/diff/f$i"; done`,
  `yes "$HELIX_BUILD_ID" | head -c ${blobBytes} > "$d/volumes/data/blob"`,
  "sleep 0.$((RANDOM % 3))",
].join("\n");
const badScript = `${goodScript}\nexit 7`;

let root: string;
let base: string;
let service: ChildProcess | null = null;

afterAll(async () => {
  await kill9(service);
  if (root) await rm(root, { recursive: true, force: true });
});

function startSandbox(port: number): Promise<ChildProcess> {
  return startService(
    entries.sandbox,
    {
      SANDBOX_ROOT: root,
      SANDBOX_PORT: String(port),
      SANDBOX_STOP_GRACE_MS: "200",
      // Spares are copied in the background at any moment: let the kills hit those too.
      SANDBOX_SPARE_COPIES: "1",
      // About the filesystem alone; docker-daemons.test.ts kills a service under real daemons.
      SANDBOX_DOCKER: "off",
    },
    `http://127.0.0.1:${port}/v1/health`,
  );
}

const list = (dir: string) => readdir(dir).catch(() => [] as string[]);

/** The build ID a complete generation's Docker directory was written by, or why it is not one. */
async function generationOf(dockerDir: string): Promise<string> {
  const diff = path.join(dockerDir, "overlay2", "layer", "diff");
  const names = await list(diff);
  if (names.length !== filesPerGolden) throw new Error(`${diff} holds ${names.length} files`);
  const ids = new Set(await Promise.all(names.map((n) => readFile(path.join(diff, n), "utf8"))));
  if (ids.size !== 1) throw new Error(`${diff} mixes builds ${[...ids].join(", ")}`);
  const [id] = [...ids] as [string];
  const blob = path.join(dockerDir, "volumes", "data", "blob");
  const { size } = await stat(blob);
  const head = (await readFile(blob, "utf8")).slice(0, id.length + 1);
  if (size !== blobBytes || head !== `${id}\n`) throw new Error(`${blob} is not ${id}'s complete blob`);
  return id;
}

it(
  `keeps goldens and sessions whole through ${iterations} kill -9s at random moments (seed ${seed})`,
  async () => {
    const random = seededRandom(seed);
    const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)] as T;
    root = await mkdtemp(path.join(tmpdir(), "crash-harness-"));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const succeeding = new Map<string, string>(); // build ID -> project, for builds meant to succeed
    const sessions = new Set<string>();
    let counter = 0;
    const send = (method: string, url: string, body?: unknown) =>
      fetch(`${base}${url}`, {
        method,
        ...(body ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } } : {}),
      }).then(
        (r) => r.status,
        () => 0,
      );

    for (let iteration = 0; iteration < iterations; iteration++) {
      const context = `iteration ${iteration}, seed ${seed}`;
      service = await startSandbox(port);
      await checkInvariants(context, succeeding);

      // A burst of work, cut short by SIGKILL at a random moment.
      const actions: Promise<unknown>[] = [];
      const killAt = 20 + random() * 900;
      const started = Date.now();
      while (Date.now() - started < killAt) {
        const roll = random();
        const project = pick(projects);
        if (roll < 0.4) {
          const buildId = `crash${iteration}x${counter++}`;
          const good = random() < 0.8;
          if (good) succeeding.set(buildId, project);
          actions.push(
            send("POST", "/v1/builds", {
              build_id: buildId,
              project_id: project,
              run_user: testRunUser(project),
              startup_script: good ? goodScript : badScript,
            }),
          );
        } else if (roll < 0.75) {
          const sessionId = `s${iteration}x${counter++}`;
          sessions.add(sessionId);
          actions.push(send("POST", "/v1/sessions", { session_id: sessionId, project_id: project }));
        } else if (roll < 0.85) {
          actions.push(send("DELETE", `/v1/goldens/${project}`));
        } else if (sessions.size > 0) {
          actions.push(send("DELETE", `/v1/sessions/${pick([...sessions])}`));
        }
        await new Promise((resolve) => setTimeout(resolve, random() * 120));
      }
      await kill9(service);
      await Promise.all(actions);
    }
    service = await startSandbox(port);
    await checkInvariants(`after the last restart, seed ${seed}`, succeeding);
    await kill9(service);

    // What the kills interrupted: the harness only proves something if they hit real work.
    const outcomes: Record<string, number> = {};
    for (const name of await list(path.join(root, "build-records"))) {
      if (!name.endsWith(".json")) continue;
      const { build } = JSON.parse(await readFile(path.join(root, "build-records", name), "utf8"));
      const key = build.error === "Build interrupted by sandbox restart" ? "interrupted" : build.status;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
    }
    console.log(
      `crash harness (seed ${seed}): builds ${JSON.stringify(outcomes)}, sessions kept ${(await list(path.join(root, "sessions"))).length}`,
    );
    expect(outcomes.interrupted ?? 0).toBeGreaterThan(0);
    expect(outcomes.succeeded ?? 0).toBeGreaterThan(0);
  },
  15 * 60_000,
);

async function checkInvariants(context: string, succeeding: Map<string, string>) {
  const where = (what: string) => `${what} (${context})`;
  // Nothing half-done lies around, and no build is left running or believed running.
  expect(await list(path.join(root, "builds")), where("builds/")).toEqual([]);
  // The restarted service may already be making spare copies (one per project at most); nothing
  // else may be in tmp/, and those cannot pile up from earlier runs.
  const staging = await list(path.join(root, "tmp"));
  expect(
    staging.filter((name) => !name.startsWith("spare-")),
    where("tmp/"),
  ).toEqual([]);
  expect(staging.length, where("spare copies in progress")).toBeLessThanOrEqual(projects.length);
  for (const name of await list(path.join(root, "build-records"))) {
    if (!name.endsWith(".json")) continue;
    const record = JSON.parse(await readFile(path.join(root, "build-records", name), "utf8"));
    expect(record.build.status, where(`record ${name}`)).not.toBe("running");
  }
  expect(await leftoverScripts(), where("processes of interrupted builds")).toEqual([]);

  // Each golden is exactly one complete generation, of a build of that project that succeeded.
  for (const project of await list(path.join(root, "goldens"))) {
    const dir = path.join(root, "goldens", project);
    const entries = await list(dir);
    const generations = await list(path.join(dir, "generations"));
    const response = (await fetch(`${base}/v1/goldens/${project}`).then((r) => r.json())) as {
      exists: boolean;
      build_id: string | null;
    };
    if (!entries.includes("current")) {
      expect(generations, where(`${project} has generations but no golden`)).toEqual([]);
      expect(response.exists).toBe(false);
      continue;
    }
    expect(
      entries.filter((e) => !["current", "generations", "last-used", "spares"].includes(e)),
      where(project),
    ).toEqual([]);
    const current = response.build_id as string;
    expect(generations, where(`${project}'s generations`)).toEqual([current]);
    expect(succeeding.get(current), where(`${project}'s golden ${current} comes from a successful build of it`)).toBe(
      project,
    );
    expect(await generationOf(path.join(dir, "generations", current, "docker")), where(`${project}'s golden`)).toBe(
      current,
    );
    // Spares left after recovery are whole copies of the current generation.
    for (const spare of await list(path.join(dir, "spares"))) {
      expect(spare.startsWith(`${current}.`), where(`${project}'s spare ${spare}`)).toBe(true);
      expect(await generationOf(path.join(dir, "spares", spare, "docker")), where(`spare ${spare}`)).toBe(current);
    }
  }

  // Each session directory is complete: a whole generation, or empty.
  for (const session of await list(path.join(root, "sessions"))) {
    const meta = JSON.parse(await readFile(path.join(root, "sessions", session, "session.json"), "utf8"));
    const docker = path.join(root, "sessions", session, "docker");
    if (meta.source === "empty") expect(await list(docker), where(`empty session ${session}`)).toEqual([]);
    else expect(await generationOf(docker), where(`session ${session}`)).toBe(meta.golden_build_id);
  }
}

/** Startup scripts of this harness's builds that are still alive. */
async function leftoverScripts(): Promise<number[]> {
  const alive: number[] = [];
  for (const entry of await list("/proc")) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const environ = await readFile(`/proc/${entry}/environ`, "utf8").catch(() => "");
    if (!environ.includes("HELIX_BUILD_ID=crash")) continue;
    const status = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    if (status && status.slice(status.lastIndexOf(")") + 2)[0] !== "Z") alive.push(Number(entry));
  }
  return alive;
}
