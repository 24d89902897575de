import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { createTestSandbox, manifest, type TestSandbox } from "./helpers.ts";

let sandbox: TestSandbox;
let outer: string;

// The root sits beside a directory of files a traversal would reach first.
beforeEach(async () => {
  outer = await mkdtemp(path.join(tmpdir(), "sandbox-outer-"));
  await mkdir(path.join(outer, "outside", "etc"), { recursive: true });
  await writeFile(path.join(outer, "outside", "etc", "passwd"), "root:x:0:0\n");
  sandbox = await createTestSandbox({ root: path.join(outer, "root") });
});
afterEach(async () => {
  await sandbox.close();
  await rm(outer, { recursive: true, force: true });
});

const hostile = [
  "..",
  "../../etc",
  "../outside",
  "%2e%2e%2f%2e%2e%2fetc",
  "..%2f..%2f",
  "%252e%252e",
  "/etc/passwd",
  "%2Fetc%2Fpasswd",
  "a%00b",
  "\u2024\u2024",
  "ﬁle",
  "a".repeat(10_000),
  "-rf",
  "_leading",
  ".hidden",
];

it("rejects hostile IDs in every path with a 400 problem and touches nothing", async () => {
  const before = await manifest(outer);
  for (const raw of hostile) {
    const id = raw.includes("%") ? raw : encodeURIComponent(raw);
    for (const [method, url] of [
      ["GET", `/v1/goldens/${id}`],
      ["DELETE", `/v1/goldens/${id}`],
      ["GET", `/v1/builds/${id}`],
      ["POST", `/v1/builds/${id}/stop`],
      ["GET", `/v1/builds/${id}/log`],
      ["GET", `/v1/sessions/${id}`],
      ["DELETE", `/v1/sessions/${id}`],
    ] as const) {
      const res = await sandbox.request(method, url);
      expect([400, 404], `${method} ${url}`).toContain(res.status);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
    }
    for (const body of [
      { build_id: raw, project_id: "p1", startup_script: "true" },
      { build_id: "b1", project_id: raw, startup_script: "true" },
    ]) {
      const res = await sandbox.request("POST", "/v1/builds", body);
      expect(res.status).toBe(400);
    }
    const res = await sandbox.request("POST", "/v1/sessions", { session_id: raw, project_id: "p1" });
    expect(res.status).toBe(400);
  }
  expect(await manifest(outer)).toEqual(before);
});
