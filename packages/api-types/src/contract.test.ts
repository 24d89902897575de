import { describe, expect, it } from "vitest";
import { ID_PATTERN, isValidId, loadContract } from "./contract.ts";

describe("the contracts", () => {
  it.each(["bff", "sandbox"] as const)("%s: its Id schema is the pattern the code checks", (name) => {
    const contract = loadContract(name);
    const schema = contract.document.components.schemas.Id as { pattern: string };
    expect(schema.pattern).toBe(ID_PATTERN.source);
  });

  it("accepts IDs and nothing that could name another path", () => {
    for (const ok of ["demo", "prj_0123", "bld-1", "A".repeat(64)]) expect(isValidId(ok)).toBe(true);
    for (const bad of ["", "..", "../x", "a/b", "/abs", "a\0b", "_x", "-x", "A".repeat(65), "\u2024", 5, null]) {
      expect(isValidId(bad)).toBe(false);
    }
  });

  it("validates a body with defaults filled in and every invalid part named", () => {
    const contract = loadContract("sandbox");
    const ok = contract.validateBody<{ branch: string; timeout_seconds: number }>("startBuild", {
      build_id: "b1",
      project_id: "p1",
      startup_script: "true",
      run_user: { uid: 200_000, subuid_start: 300_000_000, subuid_count: 65_536 },
    });
    expect(ok).toMatchObject({ ok: true, value: { branch: "main", timeout_seconds: 1800 } });
    const bad = contract.validateBody("startBuild", { build_id: "../b", startup_script: 3, extra: 1 });
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.errors).toEqual(
        expect.arrayContaining([
          { path: "/project_id", message: "is required" },
          { path: "/extra", message: "is not a known field" },
          { path: "/build_id", message: expect.stringContaining("pattern") },
          { path: "/startup_script", message: "must be string" },
        ]),
      );
    }
  });
});
