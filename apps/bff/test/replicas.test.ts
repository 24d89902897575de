// Two BFF processes on one PostgreSQL server, as an operator scales out: triggers split across
// both still start exactly one build and queue one follow-up, and a browser connected to either
// process sees every change, whichever process made it.
import type { ChildProcess } from "node:child_process";
import type { Server } from "node:http";
import { createMockSandboxServer } from "@prewarm/mock-sandbox/serve";
import { EventStreamClient } from "@prewarm/test-kit/event-stream";
import { freePort, kill9 } from "@prewarm/test-kit/processes";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freshDatabase, script, seedUser, startBffProcess, type TestUser } from "./helpers.ts";

const adminUrl = inject("postgresAdminUrl");

describe.skipIf(!adminUrl)("two BFF processes on one PostgreSQL server", () => {
  let database: { url: string; drop: () => Promise<void> };
  let mock: ReturnType<typeof createMockSandboxServer>;
  const bffs: { url: string; process: ChildProcess }[] = [];
  let owner: TestUser;
  const goldenReads = new Map<string, number>();

  beforeAll(async () => {
    database = await freshDatabase(adminUrl ?? "");
    owner = await seedUser({ databaseUrl: database.url });
    mock = createMockSandboxServer({
      port: await freePort(),
      onRequest: (method, path) => {
        if (method === "GET") goldenReads.set(path, (goldenReads.get(path) ?? 0) + 1);
      },
    });
    for (let i = 0; i < 2; i++) {
      bffs.push(
        await startBffProcess({ DATABASE_URL: database.url, SANDBOX_URL: mock.baseUrl, RECONCILE_INTERVAL_MS: "500" }),
      );
    }
  }, 60_000);

  afterAll(async () => {
    for (const bff of bffs) await kill9(bff.process);
    (mock?.server as Server | undefined)?.close();
    await database?.drop();
  });

  const at = (i: number, path: string, init: RequestInit = {}) =>
    fetch(`${bffs[i % 2]?.url}${path}`, {
      ...init,
      headers: { "content-type": "application/json", authorization: `Bearer ${owner.token}`, ...(init.headers ?? {}) },
    });
  const builds = (projectId: string) => mock.sandbox.allBuilds().filter((b) => b.project_id === projectId);

  it("start exactly one build from 100 enables split across both, and queue one follow-up", async () => {
    const created = await at(0, "/api/v1/projects", {
      method: "POST",
      body: JSON.stringify({ name: "Shop", startup_script: script }),
    });
    const { id } = (await created.json()) as { id: string };
    // A browser on each process, before anything happens.
    const watchers = await Promise.all(
      bffs.map((bff) =>
        EventStreamClient.connect(`${bff.url}/api/v1/projects/${id}/events`, {
          authorization: `Bearer ${owner.token}`,
        }),
      ),
    );

    const enables = Array.from({ length: 100 }, (_, i) =>
      at(i, `/api/v1/projects/${id}`, {
        method: "PATCH",
        body: JSON.stringify({ metadata: { auto_warm_docker_cache: true } }),
      }),
    );
    const answers = await Promise.all(
      enables.map(async (res) => (await (await res).json()) as { build_started: boolean }),
    );
    expect(answers.filter((a) => a.build_started)).toHaveLength(1);
    expect(builds(id)).toHaveLength(1);

    const triggers = [
      ...Array.from({ length: 200 }, (_, i) =>
        at(i, `/api/v1/projects/${id}/main-changed`, {
          method: "POST",
          body: JSON.stringify({ commit_sha: (0x2000000 + i).toString(16) }),
        }),
      ),
      ...Array.from({ length: 50 }, (_, i) =>
        at(i, `/api/v1/projects/${id}/docker-cache/builds`, {
          method: "POST",
          body: JSON.stringify({ trigger: "retry" }),
        }),
      ),
    ];
    expect((await Promise.all(triggers)).every((res) => res.status === 202)).toBe(true);
    expect(builds(id)).toHaveLength(1);
    const project = (await (await at(1, `/api/v1/projects/${id}`)).json()) as {
      metadata: { docker_cache_state: { status: string; queued: unknown } };
    };
    const state = project.metadata.docker_cache_state;
    expect(state.status).toBe("building");
    expect(state.queued).not.toBeNull();

    // Both processes hear the sandbox finish the build; exactly one follow-up starts.
    const first = builds(id)[0]?.build_id ?? "";
    mock.sandbox.finishBuild(first, { sizeBytes: 777 });
    await expect.poll(() => builds(id).length, { timeout: 10_000 }).toBe(2);
    const second = builds(id)[1]?.build_id;
    // Each process handles the sandbox's events one at a time, in order. An eviction announced
    // after the finish makes each of them ask the sandbox about that golden: once both have asked,
    // both have handled the finish too, and neither started a third build.
    mock.sandbox.setGolden("barrier", 1);
    mock.sandbox.evictGolden("barrier");
    await expect.poll(() => goldenReads.get("/v1/goldens/barrier") ?? 0, { timeout: 10_000 }).toBe(2);
    expect(builds(id)).toHaveLength(2);

    // Each browser saw the change, whichever process made it.
    for (const watcher of watchers) {
      await watcher.waitFor((event) => {
        if (event.event !== "project") return false;
        const project = JSON.parse(event.data);
        const cache = project.metadata.docker_cache_state;
        return cache.build_id === second && cache.size_bytes === 777 && cache.queued === null;
      });
      await watcher.close();
    }
  });
});
