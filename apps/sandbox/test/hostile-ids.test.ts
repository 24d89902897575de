// A fuzz test over generated hostile IDs against every operation of the sandbox contract: each
// is refused with a 400 problem, and neither the root nor the tree beside it changes at all.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadContract } from "@prewarm/api-types/contract";
import { treeManifest } from "@prewarm/test-kit/tree-manifest";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestSandbox, type TestSandbox } from "./helpers.ts";

const traversals = [
  "..",
  "../",
  "..\\\\",
  "./",
  "/",
  "//",
  "\\\\",
  "%2e%2e",
  "%2f",
  "%252e%252e%252f",
  "..%c0%af",
  "%00",
];
const lookalikes = ["\u2024\u2024", "\uff0e\uff0e", "\u2215", "\uff0f", "\u2044", "\u00b7", "\u0130", "\u212a", "ﬁ"];
const absolutes = ["/etc/passwd", "/root", "C:\\\\Windows", "file:///etc", "~", "~root"];
const controls = ["\u0000", "\n", "\r", "\t", " ", "\u007f", "\u200b", "\ufeff"];
const targets = ["outside", "goldens", "etc", "..", "p1", "tmp", "*", "?", "$(id)", "`id`", "|", ";"];

/** Hostile IDs built from the fragments an attacker reaches for, in combinations. */
function hostileIds(): string[] {
  const ids = new Set<string>();
  for (const prefix of ["", "p", "a-", "_", "-"]) {
    for (const fragment of [...traversals, ...lookalikes, ...absolutes, ...controls]) {
      for (const target of targets) {
        ids.add(`${prefix}${fragment}${target}`);
        ids.add(`${prefix}${target}${fragment}`);
      }
    }
  }
  ids.add("a".repeat(65));
  ids.add("a".repeat(10 * 1024));
  ids.add(`${"../".repeat(3000)}etc`);
  ids.add("");
  return [...ids].filter((id) => !/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(id));
}

let outer: string;
let sandbox: TestSandbox;

beforeAll(async () => {
  outer = await mkdtemp(path.join(tmpdir(), "hostile-ids-"));
  for (const dir of ["outside/etc", "outside/goldens/p1/generations", "etc"])
    await mkdir(path.join(outer, dir), { recursive: true });
  await writeFile(path.join(outer, "outside", "etc", "passwd"), "root:x:0:0\n");
  await writeFile(path.join(outer, "etc", "passwd"), "root:x:0:0\n");
  sandbox = await createTestSandbox({ root: path.join(outer, "root") });
  // Something real inside the root, that a traversal might reach sideways.
  await sandbox.startBuild({
    build_id: "b1",
    project_id: "p1",
    startup_script: 'echo x > "$HELIX_DOCKER_DATA_ROOT/f"',
  });
  await sandbox.waitForBuild("b1");
});
afterAll(async () => {
  await sandbox.close();
  await rm(outer, { recursive: true, force: true });
});

it("refuses over a thousand hostile IDs on every operation and touches nothing", async () => {
  const ids = hostileIds();
  expect(ids.length).toBeGreaterThanOrEqual(1000);
  const operations = loadContract("sandbox").operations();
  const withIds = operations.filter((op) => op.path.includes("{") || op.hasBody);
  // Every operation that takes an ID is covered; a new one cannot slip by.
  expect(withIds.map((op) => op.operationId).sort()).toEqual(
    [
      "deleteGolden",
      "getBuild",
      "getBuildLog",
      "getGolden",
      "getSession",
      "getTestSession",
      "getTestSessionLog",
      "prepareSession",
      "removeBuild",
      "removeSession",
      "startBuild",
      "startTestSession",
      "stopBuild",
      "stopTestSession",
      "getGoldenManifest",
      "getGoldenArchive",
      "getReplication",
      "startReplication",
      "cancelReplication",
    ].sort(),
  );
  const before = await treeManifest(outer, { times: false });

  // A valid body for each operation that takes one; each ID in it is made hostile in turn.
  const validBodies: Record<string, Record<string, unknown>> = {
    startBuild: { build_id: "b9", project_id: "p1", startup_script: "true" },
    prepareSession: { session_id: "s9", project_id: "p1" },
    startTestSession: { session_id: "t9", project_id: "p1", startup_script: "true" },
    startReplication: { build_id: "b9", source_url: "http://127.0.0.1:9/", source_token: null },
  };
  const idFields = ["build_id", "project_id", "session_id"];
  let requests = 0;
  for (const id of ids) {
    for (const op of withIds) {
      const cases: { url: string; body: unknown }[] = [];
      const valid = validBodies[op.operationId];
      const placeholders = op.path.match(/\{[a-z_]+\}/g) ?? [];
      // An empty segment names another route (a 404); the empty ID is tried in bodies.
      if (id !== "") {
        for (const hostile of placeholders) {
          const url = placeholders.reduce(
            (path, name) => path.replace(name, name === hostile ? encodeURIComponent(id) : "p1"),
            op.path,
          );
          cases.push({ url, body: valid });
        }
      }
      const validUrl = placeholders.reduce((path, name) => path.replace(name, "p1"), op.path);
      for (const field of idFields.filter((name) => valid && name in valid)) {
        cases.push({ url: validUrl, body: { ...valid, [field]: id } });
      }
      for (const { url, body } of cases) {
        const res = await sandbox.request(op.method, url, body);
        requests++;
        if (res.status !== 400) throw new Error(`${op.method} ${url} ${JSON.stringify(body)} answered ${res.status}`);
        expect(res.headers.get("content-type")).toBe("application/problem+json");
        const problem = await res.json();
        expect(["invalid_id", "invalid_request"]).toContain(problem.code);
      }
    }
  }
  expect(requests).toBeGreaterThan(9000);
  expect(await treeManifest(outer, { times: false })).toEqual(before);
});
