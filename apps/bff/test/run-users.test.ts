// Each project's user on the sandbox hosts: allocated once, in the database, the same however
// often and from however many places it is asked for, never another project's, and sent to the
// sandbox with every build and test session.
import { describe, expect, it } from "vitest";
import { migrate } from "../src/store/migrate.ts";
import { ProjectStore } from "../src/store/project-store.ts";
import { RunUsers } from "../src/store/run-users.ts";
import { storeBackends, useMockSandbox, useTestBff } from "./helpers.ts";

const ranges = { firstUid: 200_000, firstSubuid: 300_000_000 };

for (const backend of storeBackends()) {
  describe.skipIf(backend.skip !== null)(`project users on ${backend.name}`, () => {
    it("are allocated once per project, in order, each with a range of its own", async () => {
      const { sql, drop } = await backend.open();
      try {
        await migrate(sql);
        const store = new ProjectStore(sql, { buildTimeoutSeconds: 1800 });
        const runUsers = new RunUsers(sql, ranges);
        const [a, b] = [await store.createProject({ name: "A" }), await store.createProject({ name: "B" })];
        const first = await runUsers.of(a.id);
        expect(first).toEqual({ uid: 200_000, subuid_start: 300_000_000, subuid_count: 65_536 });
        expect(await runUsers.of(a.id)).toEqual(first);
        expect(await new RunUsers(sql, { firstUid: 5000, firstSubuid: 100_000 }).of(a.id)).toEqual(first);
        expect(await runUsers.of(b.id)).toEqual({ uid: 200_001, subuid_start: 300_065_536, subuid_count: 65_536 });
        expect(await runUsers.of("missing")).toBeNull();
      } finally {
        await drop();
      }
    });

    it("give every concurrent caller the same user for a project, and different projects different ones", async () => {
      const { sql, drop } = await backend.open();
      try {
        await migrate(sql);
        const store = new ProjectStore(sql, { buildTimeoutSeconds: 1800 });
        const runUsers = new RunUsers(sql, ranges);
        const projects = await Promise.all(Array.from({ length: 5 }, (_, i) => store.createProject({ name: `P${i}` })));
        const asked = await Promise.all(projects.flatMap((p) => Array.from({ length: 10 }, () => runUsers.of(p.id))));
        const byProject = new Map<number, Set<number>>();
        asked.forEach((user, i) => {
          const set = byProject.get(Math.floor(i / 10)) ?? new Set();
          set.add(user?.uid ?? -1);
          byProject.set(Math.floor(i / 10), set);
        });
        for (const uids of byProject.values()) expect(uids.size).toBe(1);
        const uids = [...byProject.values()].map((set) => [...set][0]);
        expect(new Set(uids).size).toBe(5);
        const subuids = new Set(asked.map((user) => user?.subuid_start));
        expect(subuids.size).toBe(5);
      } finally {
        await drop();
      }
    });
  });
}

describe("builds and test sessions", () => {
  const sandbox = useMockSandbox();
  const bff = useTestBff({ monitor: false });

  it("carry the project's user to the sandbox", async () => {
    const project = await bff.newProject({ name: "Users" });
    const user = await bff.services.runUsers.of(project.id);
    expect(user?.uid).toBeGreaterThanOrEqual(200_000);
    const started = await bff.request("POST", `/api/v1/projects/${project.id}/docker-cache/builds`, {});
    expect(started.status).toBe(202);
    const { build } = await started.json();
    expect(sandbox.buildRequest(build.id)?.run_user).toEqual(user);
    const other = await bff.newProject({ name: "Others" });
    const second = await (await bff.request("POST", `/api/v1/projects/${other.id}/docker-cache/builds`, {})).json();
    expect(sandbox.buildRequest(second.build.id)?.run_user?.uid).not.toBe(user?.uid);

    for (const body of [undefined, { startup_script: "echo draft" }]) {
      const session = await bff.request("POST", `/api/v1/projects/${project.id}/test-sessions`, body);
      expect(session.status).toBe(202);
      expect(sandbox.testSessions.request((await session.json()).session_id)?.run_user).toEqual(user);
    }
  });
});
