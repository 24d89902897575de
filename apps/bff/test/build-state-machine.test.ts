// The state machine's table (build-state-machine.ts) is what the store's statements do: each
// transition is tried from every status, and the statuses it leads to are exactly its `to` list,
// while from a status outside its `from` list it changes nothing.
import type { components } from "@prewarm/api-types/bff";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BuildOutcome, type Transition, transitions as table } from "../src/docker-cache/build-state-machine.ts";
import { CacheTransitions, type GoldenTruth } from "../src/store/cache-transitions.ts";
import { migrate } from "../src/store/migrate.ts";
import { ProjectStore } from "../src/store/project-store.ts";
import { createPgliteClient, type SqlClient } from "../src/store/sql-client.ts";

type Status = components["schemas"]["DockerCacheStatus"];
const statuses: Status[] = ["none", "building", "ready", "failed"];
const golden: GoldenTruth = { exists: true, size_bytes: 42, built_at: "2026-01-02T03:04:05.000Z" };
const noGolden: GoldenTruth = { exists: false, size_bytes: 0, built_at: null };

let sql: SqlClient;
let store: ProjectStore;
let transitions: CacheTransitions;

beforeAll(async () => {
  sql = await createPgliteClient(null);
  await migrate(sql);
  store = new ProjectStore(sql);
  transitions = new CacheTransitions(sql, store, store.defaults);
});
afterAll(async () => {
  await sql.close();
});

const status = async (id: string) => (await store.getProject(id))?.metadata.docker_cache_state.status;

async function startBuild(id: string): Promise<string> {
  const result = await transitions.trigger(id, "manual", null);
  if (result.kind !== "started") throw new Error(`expected a start, got ${result.kind}`);
  return result.build.id;
}

async function settle(buildId: string, outcome: BuildOutcome, truth: GoldenTruth) {
  return transitions.settleBuild(
    buildId,
    {
      status: outcome,
      finished_at: new Date().toISOString(),
      error: outcome === "failed" ? "exit 2" : null,
      size_bytes: outcome === "succeeded" ? 42 : null,
    },
    truth,
  );
}

/** A new project in `wanted`, reached through the transitions themselves. */
async function projectIn(wanted: Status): Promise<{ id: string; buildId: string | null }> {
  const { id } = await store.createProject({ name: "Shop", startup_script: "docker compose build" });
  if (wanted === "none") return { id, buildId: null };
  const buildId = await startBuild(id);
  if (wanted === "building") return { id, buildId };
  await settle(buildId, wanted === "ready" ? "succeeded" : "failed", noGolden);
  expect(await status(id)).toBe(wanted);
  return { id, buildId };
}

/** Every way each transition can be applied, and the status it left behind (null: refused). */
const ways: Record<keyof typeof table, (from: Status) => Promise<Status[]>> = {
  start: async (from) => {
    const { id } = await projectIn(from);
    const result = await transitions.trigger(id, "manual", null);
    return result.kind === "started" ? [(await status(id)) as Status] : [];
  },
  queue: async (from) => {
    const { id } = await projectIn(from);
    const result = await transitions.trigger(id, "merge", "abc1234");
    return result.kind === "queued" ? [(await status(id)) as Status] : [];
  },
  settle: async (from) => {
    const reached: Status[] = [];
    for (const [outcome, truth, followUp] of [
      ["succeeded", noGolden, false],
      ["failed", noGolden, false],
      ["interrupted", noGolden, false],
      ["stopped", golden, false],
      ["stopped", noGolden, false],
      ["failed", noGolden, true],
    ] as const) {
      const { id, buildId } = await projectIn(from);
      if (followUp) await transitions.trigger(id, "manual", null);
      // A project that is not building has no current build: its last one is settled again.
      if (buildId && (await settle(buildId, outcome, truth))) reached.push((await status(id)) as Status);
    }
    return reached;
  },
  deleteCache: async (from) => {
    const { id } = await projectIn(from);
    return (await transitions.clearCache(id)) ? [(await status(id)) as Status] : [];
  },
};

describe("the Docker cache state machine", () => {
  for (const [name, transition] of Object.entries(table) as [keyof typeof table, Transition][]) {
    it(`${name}: from ${transition.from.join(", ")} to exactly ${transition.to.join(", ")}; from elsewhere, nothing`, async () => {
      const reached = new Set<Status>();
      for (const from of statuses) {
        const after = await ways[name](from);
        if (transition.from.includes(from)) {
          expect(after.length, `${name} from ${from}`).toBeGreaterThan(0);
        } else {
          expect(after, `${name} from ${from} must change nothing`).toEqual([]);
        }
        for (const to of after) reached.add(to);
      }
      expect([...reached].sort()).toEqual([...transition.to].sort());
    });
  }
});
