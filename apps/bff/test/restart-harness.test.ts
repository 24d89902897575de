// The BFF restart harness: the real BFF and the real sandbox service as processes, builds
// triggered at random (merges, retries, stops, the setting turned off and on), the BFF killed
// with SIGKILL at a random moment of it all, sometimes left dead while builds finish, then
// started again. After every restart, once triggers stop: no build is stuck, no follow-up is
// lost, and the BFF's state equals the sandbox's truth. RESTART_ITERATIONS and RESTART_SEED
// reproduce a run.
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { entries, freePort, kill9, seededRandom, startService, stopGracefully } from "@prewarm/test-kit/processes";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freshDatabase, seedUser, type TestUser } from "./helpers.ts";

// Every run draws a new seed, so the runs add up; CI runs this again on two more Node.js lines.
const iterations = Number(process.env.RESTART_ITERATIONS ?? 12);
const seed = Number(process.env.RESTART_SEED ?? Math.floor(Math.random() * 2 ** 31));
const adminUrl = inject("postgresAdminUrl");

// Both stores: a PostgreSQL server, and PGlite, the embedded default, killed mid-write too.
const stores = [
  { name: "PGlite", pglite: true, skip: false },
  { name: "a PostgreSQL server", pglite: false, skip: !adminUrl },
];

// A build takes a moment, writes a layer named after itself, and fails one time in four.
const script = [
  "sleep 0.$((RANDOM % 6))",
  'echo "$HELIX_BUILD_ID" > "$HELIX_DOCKER_DATA_ROOT/layer-$HELIX_BUILD_ID"',
  "exit $((RANDOM % 4 == 0))",
].join("\n");

interface ApiProject {
  id: string;
  metadata: {
    docker_cache_state: {
      status: string;
      size_bytes: number;
      build_id: string | null;
      queued: unknown;
    };
  };
}
interface ApiBuild {
  id: string;
  status: string;
  finished_at: string | null;
  error: string | null;
}

for (const { name, pglite, skip } of stores)
  describe.skipIf(skip)(`the BFF on ${name} through ${iterations} kill -9s (seed ${seed})`, () => {
    let root: string;
    let database: { url: string; drop: () => Promise<void> };
    let sandbox: ChildProcess | null = null;
    let bff: ChildProcess | null = null;
    let sandboxUrl: string;
    let bffUrl: string;
    let owner: TestUser;
    let bffPort: number;

    beforeAll(async () => {
      root = await mkdtemp(path.join(tmpdir(), "restart-harness-"));
      database = pglite ? { url: "", drop: async () => {} } : await freshDatabase(adminUrl ?? "");
      const port = await freePort();
      sandboxUrl = `http://127.0.0.1:${port}`;
      sandbox = await startService(
        entries.sandbox,
        // The BFF's state is what is tested: the sandbox's runs need no Docker daemon.
        { SANDBOX_ROOT: root, SANDBOX_PORT: String(port), SANDBOX_STOP_GRACE_MS: "200", SANDBOX_DOCKER: "off" },
        `${sandboxUrl}/v1/health`,
      );
      bffPort = await freePort();
      bffUrl = `http://127.0.0.1:${bffPort}`;
      owner = await seedUser(pglite ? { dataDir: path.join(root, "bff-data") } : { databaseUrl: database.url });
    }, 60_000);

    afterAll(async () => {
      await kill9(bff);
      // Stopped gracefully: it removes its daemons' directory in the host's /tmp.
      await stopGracefully(sandbox);
      await database?.drop();
      if (root) await rm(root, { recursive: true, force: true });
    });

    const startBff = async () => {
      bff = await startService(
        entries.bff,
        {
          PORT: String(bffPort),
          ...(pglite ? { DATA_DIR: path.join(root, "bff-data") } : { DATABASE_URL: database.url }),
          SANDBOX_URL: sandboxUrl,
          WEB_DIST: "",
          RECONCILE_INTERVAL_MS: "250",
          DISPATCH_GRACE_MS: "500",
        },
        `${bffUrl}/api/v1/health`,
      );
    };
    const api = async <T>(method: string, url: string, body?: unknown): Promise<T | null> => {
      const res = await fetch(`${bffUrl}${url}`, {
        method,
        headers: {
          authorization: `Bearer ${owner.token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }).catch(() => null);
      return res?.ok ? ((await res.json()) as T) : null;
    };
    const sandboxBuild = async (id: string) => {
      const res = await fetch(`${sandboxUrl}/v1/builds/${id}`);
      return res.ok ? ((await res.json()) as { status: string; error: string | null }) : null;
    };

    it(
      "leaves no build stuck and the state equal to the sandbox's truth after every restart",
      async () => {
        const random = seededRandom(seed);
        await startBff();
        const projects: string[] = [];
        for (let i = 0; i < 2; i++) {
          const project = await api<{ id: string }>("POST", "/api/v1/projects", {
            name: `p${i}`,
            startup_script: script,
          });
          // The harness means nothing unless its requests are carried out.
          expect(project?.id).toBeTruthy();
          projects.push(project?.id ?? "");
          const enabled = await api("PATCH", `/api/v1/projects/${project?.id}`, {
            metadata: { auto_warm_docker_cache: true },
          });
          expect(enabled).not.toBeNull();
        }
        let commit = 0x3000000;
        let kills = 0;

        for (let iteration = 0; iteration < iterations; iteration++) {
          const context = `iteration ${iteration}, seed ${seed}`;
          // Triggers of every kind, cut short by SIGKILL at a random moment.
          const pending: Promise<unknown>[] = [];
          const window = 50 + random() * 1500;
          const started = Date.now();
          while (Date.now() - started < window) {
            const project = projects[Math.floor(random() * projects.length)] ?? "";
            const roll = random();
            if (roll < 0.45) {
              pending.push(
                api("POST", `/api/v1/projects/${project}/main-changed`, { commit_sha: (commit++).toString(16) }),
              );
            } else if (roll < 0.65) {
              pending.push(api("POST", `/api/v1/projects/${project}/docker-cache/builds`, { trigger: "retry" }));
            } else if (roll < 0.75) {
              pending.push(api("POST", `/api/v1/projects/${project}/docker-cache/stop`));
            } else if (roll < 0.85) {
              const on = random() < 0.7;
              pending.push(api("PATCH", `/api/v1/projects/${project}`, { metadata: { auto_warm_docker_cache: on } }));
            }
            await new Promise((resolve) => setTimeout(resolve, random() * 80));
          }
          await kill9(bff);
          kills++;
          await Promise.all(pending);
          // Sometimes builds end while nobody is watching.
          if (random() < 0.5) await new Promise((resolve) => setTimeout(resolve, random() * 1200));
          await startBff();
          await settles(context);
        }
        expect(kills).toBe(iterations);

        /** Waits until nothing runs anywhere, then compares every build and project with the sandbox. */
        async function settles(context: string) {
          const deadline = Date.now() + 30_000;
          let snapshot: { projects: ApiProject[]; builds: Map<string, ApiBuild[]> } | null = null;
          while (Date.now() < deadline) {
            const list = (await api<{ projects: ApiProject[] }>("GET", "/api/v1/projects"))?.projects ?? [];
            const builds = new Map<string, ApiBuild[]>();
            for (const project of list) {
              builds.set(
                project.id,
                (await api<{ builds: ApiBuild[] }>("GET", `/api/v1/projects/${project.id}/docker-cache/builds`))
                  ?.builds ?? [],
              );
            }
            const quiet = list.every(
              (p) =>
                p.metadata.docker_cache_state.status !== "building" && p.metadata.docker_cache_state.queued === null,
            );
            if (quiet) {
              snapshot = { projects: list, builds };
              break;
            }
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
          expect(snapshot, `builds still running 30 s after restart (${context})`).not.toBeNull();
          if (!snapshot) return;
          for (const project of snapshot.projects) {
            const builds = snapshot.builds.get(project.id) ?? [];
            // Every build the BFF kept ended as the sandbox says it did.
            for (const build of builds) {
              const truth = await sandboxBuild(build.id);
              expect(build.status, `build ${build.id} (${context})`).not.toBe("running");
              expect(
                truth?.status,
                `sandbox's record of ${build.id}, ${build.status}: ${build.error} (${context})`,
              ).toBe(build.status);
            }
            // The project's golden is the sandbox's golden.
            const golden = (await (await fetch(`${sandboxUrl}/v1/goldens/${project.id}`)).json()) as {
              exists: boolean;
              size_bytes: number;
              build_id: string | null;
            };
            const state = project.metadata.docker_cache_state;
            const last = builds.find((b) => b.finished_at !== null);
            if (golden.exists) {
              expect(state.size_bytes, `${project.id}'s golden size (${context})`).toBe(golden.size_bytes);
              const newestSuccess = builds.find((b) => b.status === "succeeded");
              if (newestSuccess)
                expect(newestSuccess.id, `${project.id}'s golden build (${context})`).toBe(golden.build_id);
            } else {
              expect(state.size_bytes, `${project.id} has no golden (${context})`).toBe(0);
            }
            if (last) {
              const expected =
                last.status === "succeeded"
                  ? "ready"
                  : last.status === "stopped"
                    ? golden.exists
                      ? "ready"
                      : "none"
                    : "failed";
              expect(state.status, `${project.id}'s status after ${last.status} (${context})`).toBe(expected);
              expect(state.build_id, `${project.id}'s last build (${context})`).toBe(last.id);
            }
          }
        }
      },
      15 * 60_000,
    );
  });

describe("a sandbox restart under a running build", () => {
  it("fails the interrupted build with the reason, and the previous golden stays ready", async () => {
    const root = await mkdtemp(path.join(tmpdir(), "sandbox-restart-"));
    const sandboxPort = await freePort();
    const bffPort = await freePort();
    const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
    const bffUrl = `http://127.0.0.1:${bffPort}`;
    const startSandbox = () =>
      startService(
        entries.sandbox,
        { SANDBOX_ROOT: path.join(root, "sandbox"), SANDBOX_PORT: String(sandboxPort), SANDBOX_DOCKER: "off" },
        `${sandboxUrl}/v1/health`,
      );
    let sandbox: ChildProcess | null = await startSandbox();
    const owner = await seedUser({ dataDir: path.join(root, "bff") });
    const bff = await startService(
      entries.bff,
      {
        PORT: String(bffPort),
        DATA_DIR: path.join(root, "bff"),
        SANDBOX_URL: sandboxUrl,
        WEB_DIST: "",
        RECONCILE_INTERVAL_MS: "250",
      },
      `${bffUrl}/api/v1/health`,
    );
    const call = async (method: string, url: string, body?: unknown) =>
      (await fetch(`${bffUrl}${url}`, {
        method,
        headers: {
          authorization: `Bearer ${owner.token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }).then((res) => res.json())) as ApiProject & { project: ApiProject };
    try {
      // A quick first build makes a golden; the second waits for a file that never comes.
      const created = await call("POST", "/api/v1/projects", {
        name: "restart",
        startup_script:
          'echo one > "$HELIX_DOCKER_DATA_ROOT/f"; if [ -e "$HELIX_DOCKER_DATA_ROOT/f.done" ]; then echo waiting; sleep 300; fi; touch "$HELIX_DOCKER_DATA_ROOT/f.done"',
      });
      await call("PATCH", `/api/v1/projects/${created.id}`, { metadata: { auto_warm_docker_cache: true } });
      await expect
        .poll(async () => (await call("GET", `/api/v1/projects/${created.id}`)).metadata.docker_cache_state.status, {
          timeout: 15_000,
        })
        .toBe("ready");
      const ready = (await call("GET", `/api/v1/projects/${created.id}`)).metadata.docker_cache_state;

      const second = (await call("POST", `/api/v1/projects/${created.id}/docker-cache/builds`, {
        trigger: "manual",
      })) as unknown as { build: { id: string } };
      // Killed while its script runs, not before.
      await expect
        .poll(async () => (await fetch(`${sandboxUrl}/v1/builds/${second.build.id}/log`)).text(), { timeout: 15_000 })
        .toContain("waiting");
      await kill9(sandbox);
      sandbox = await startSandbox();

      await expect
        .poll(async () => (await call("GET", `/api/v1/projects/${created.id}`)).metadata.docker_cache_state.status, {
          timeout: 15_000,
        })
        .toBe("failed");
      const after = (await call("GET", `/api/v1/projects/${created.id}`)).metadata
        .docker_cache_state as ApiProject["metadata"]["docker_cache_state"] & { error: string; last_ready_at: string };
      expect(after.error).toBe("Build interrupted by sandbox restart");
      expect(after.size_bytes).toBe(ready.size_bytes);
      const golden = await (await fetch(`${sandboxUrl}/v1/goldens/${created.id}`)).json();
      expect(golden).toMatchObject({ exists: true, size_bytes: ready.size_bytes });
    } finally {
      await kill9(bff);
      await stopGracefully(sandbox);
      await rm(root, { recursive: true, force: true });
    }
  }, 60_000);
});
