// Session copies racing promotions and a delete: every copy must equal exactly one complete
// generation (or be empty, if the golden was gone when it started), or fail cleanly.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { createTestSandbox, listDir, type TestSandbox } from "./helpers.ts";

let sandbox: TestSandbox;

beforeEach(async () => {
  sandbox = await createTestSandbox();
});
afterEach(async () => {
  await sandbox.close();
});

const files = 600;
// Enough small files that a copy takes long enough to overlap with promotions.
const script = [
  'd="$HELIX_DOCKER_DATA_ROOT/overlay2/layer/diff"',
  'rm -rf "$d"; mkdir -p "$d"',
  `for i in $(seq 1 ${files}); do printf '%s' "$HELIX_BUILD_ID" > "$d/f$i"; done`,
].join("\n");

async function generationOf(dockerDir: string): Promise<string> {
  const diff = path.join(dockerDir, "overlay2", "layer", "diff");
  const names = await readdir(diff);
  const ids = new Set(await Promise.all(names.map((n) => readFile(path.join(diff, n), "utf8"))));
  if (names.length !== files || ids.size !== 1) {
    throw new Error(`${dockerDir}: ${names.length} files from builds ${[...ids].join(", ")}`);
  }
  return [...ids][0] as string;
}

it("gives at least 24 concurrent session copies one whole generation each while goldens are promoted and deleted", async () => {
  const promoted: string[] = [];
  const build = async (buildId: string) => {
    await sandbox.startBuild({ build_id: buildId, project_id: "p1", startup_script: script });
    const result = await sandbox.waitForBuild(buildId);
    expect(result.status).toBe("succeeded");
    promoted.push(buildId);
  };
  await build("g0");

  let churnDone = false;
  const churn = (async () => {
    for (const id of ["g1", "g2"]) await build(id);
    expect((await sandbox.request("DELETE", "/v1/goldens/p1")).status).toBe(204);
    for (const id of ["g3", "g4"]) await build(id);
    churnDone = true;
  })();
  // Four copies at a time keep running for as long as the churn lasts, at least 24 in all.
  const results: {
    i: number;
    status: number;
    body: { code?: string; source?: string; docker_dir: string; golden_build_id: string };
  }[] = [];
  let next = 0;
  const copier = async () => {
    while (!churnDone || next < 24) {
      const i = next++;
      const res = await sandbox.request("POST", "/v1/sessions", { session_id: `s${i}`, project_id: "p1" });
      results.push({ i, status: res.status, body: await res.json() });
    }
  };
  await Promise.all([copier(), copier(), copier(), copier()]);
  await churn;
  expect(results.length).toBeGreaterThanOrEqual(24);

  const seen = new Set<string>();
  for (const { i, status, body } of results) {
    if (status !== 201) {
      // A failed copy says why and leaves nothing behind.
      expect(body.code, `copy ${i}`).toBeTypeOf("string");
      expect(await listDir(path.join(sandbox.root, "sessions", `s${i}`))).toEqual([]);
      continue;
    }
    if (body.source === "empty") {
      expect(await listDir(body.docker_dir), `copy ${i}`).toEqual([]);
      seen.add("empty");
      continue;
    }
    const generation = await generationOf(body.docker_dir);
    expect(generation, `copy ${i}`).toBe(body.golden_build_id);
    expect(promoted, `copy ${i}`).toContain(generation);
    seen.add(generation);
  }
  console.log(`concurrency: ${results.length} copies saw ${[...seen].sort().join(", ")}`);
  // The copies really overlapped the churn: they saw more than one generation.
  expect(seen.size).toBeGreaterThan(1);
  // Nothing leaked: no staging directories, and only the current generation remains.
  expect(await listDir(path.join(sandbox.root, "tmp"))).toEqual([]);
  expect(await listDir(path.join(sandbox.root, "goldens", "p1", "generations"))).toEqual(["g4"]);
});
