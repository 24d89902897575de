// The fleet as it runs: real sandbox services as processes (each with its own root, port and
// token; no Docker daemon, so a golden is a small tree a script writes) and two BFF processes on
// one PostgreSQL server. A build runs on one host and every other host ends with a golden equal
// to the builder's, file by file; a host added later catches up by itself; a host killed while
// it fetches a new golden holds the whole previous one or the whole new one, never a mixture;
// a cache deleted while a host is down is deleted there when it returns; and triggers spread
// over both BFFs start one build in the whole fleet and queue at most one.
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { watch } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { EventStreamClient } from "@prewarm/test-kit/event-stream";
import { entries, freePort, kill9, startService, stopGracefully } from "@prewarm/test-kit/processes";
import { treeManifest } from "@prewarm/test-kit/tree-manifest";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
// The one way to a path on a sandbox host, to look at a host's disk as the host itself does.
import { SandboxLayout } from "../../sandbox/src/layout.ts";
import { freshDatabase, seedUser, startBffProcess, type TestUser } from "./helpers.ts";

const adminUrl = inject("postgresAdminUrl");

// A golden with what a copy can get wrong (hard links, a symlink, a FIFO, an xattr, a sparse
// file, modes), and 12 MB that differ in every build, so that fetching it takes a moment.
const treeScript = [
  "set -e",
  'd="$HELIX_DOCKER_DATA_ROOT"',
  'rm -rf "$d"/*',
  'mkdir -p "$d/overlay2/l1/diff/etc" "$d/overlay2/l2/diff" "$d/volumes/v/_data" "$d/closed"',
  'for i in $(seq 1 20); do echo "$HELIX_BUILD_ID $i" > "$d/overlay2/l1/diff/etc/f$i"; done',
  'ln "$d/overlay2/l1/diff/etc/f1" "$d/overlay2/l2/diff/hard"',
  'ln -s ../l1/diff/etc/f2 "$d/overlay2/l2/diff/sym"',
  'mkfifo "$d/volumes/v/_data/fifo"',
  'head -c 12M /dev/urandom > "$d/volumes/v/_data/blob"',
  'truncate -s 4M "$d/volumes/v/_data/sparse"',
  'echo secret > "$d/closed/zero" && chmod 000 "$d/closed/zero" && chmod 700 "$d/closed"',
  'setfattr -n user.overlay.opaque -v y "$d/overlay2/l2/diff"',
].join("\n");

// A build that waits, in its own /tmp, for the test to let it finish.
const gatedScript = ["while [ ! -e /tmp/go ]; do sleep 0.05; done", 'echo done > "$HELIX_DOCKER_DATA_ROOT/done"'].join(
  "\n",
);

interface Host {
  label: string;
  root: string;
  url: string;
  port: number;
  token: string;
  process: ChildProcess | null;
}

interface ApiSandbox {
  label: string;
  reachable: boolean;
  golden: { state: string; build_id: string; newest: boolean } | null;
}

describe.skipIf(!adminUrl)("three sandbox processes and two BFF processes on one PostgreSQL server", () => {
  let work: string;
  let database: { url: string; drop: () => Promise<void> };
  let owner: TestUser;
  const hosts: Host[] = [];
  const bffs: { url: string; process: ChildProcess }[] = [];

  async function newHost(label: string): Promise<Host> {
    const port = await freePort();
    const host: Host = {
      label,
      root: path.join(work, label),
      port,
      url: `http://127.0.0.1:${port}`,
      token: randomBytes(24).toString("hex"),
      process: null,
    };
    hosts.push(host);
    await startHost(host);
    return host;
  }

  async function startHost(host: Host): Promise<void> {
    host.process = await startService(
      entries.sandbox,
      {
        SANDBOX_ROOT: host.root,
        SANDBOX_PORT: String(host.port),
        SANDBOX_TOKEN: host.token,
        SANDBOX_DOCKER: "off",
        SANDBOX_STOP_GRACE_MS: "200",
      },
      `${host.url}/v1/health`,
    );
  }

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), "fleet-processes-"));
    database = await freshDatabase(adminUrl ?? "");
    owner = await seedUser({ databaseUrl: database.url }, "owner", { operator: true });
    for (const label of ["sbx-1", "sbx-2", "sbx-3"]) await newHost(label);
    // Both BFF processes open each other's sealed tokens with one key.
    const key = randomBytes(32).toString("base64");
    for (let i = 0; i < 2; i++) {
      bffs.push(
        await startBffProcess({
          DATABASE_URL: database.url,
          WEBHOOK_SECRET_KEY: key,
          // No SANDBOX_URL: the fleet is what operators add.
          SANDBOX_URL: "",
          RECONCILE_INTERVAL_MS: "500",
        }),
      );
    }
    for (const host of hosts) await addHost(host, 0);
  }, 120_000);

  afterAll(async () => {
    for (const bff of bffs) await kill9(bff.process);
    for (const host of hosts) await stopGracefully(host.process);
    await database?.drop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** A call to the i-th BFF (i modulo 2) as the owner. */
  const api = (i: number, method: string, route: string, body?: unknown) =>
    fetch(`${bffs[i % 2]?.url}${route}`, {
      method,
      headers: { "content-type": "application/json", authorization: `Bearer ${owner.token}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  async function addHost(host: Host, through: number): Promise<void> {
    const res = await api(through, "POST", "/api/v1/operator/sandboxes", {
      label: host.label,
      url: host.url,
      token: host.token,
    });
    expect(res.status, await res.clone().text()).toBe(201);
  }

  async function newProject(name: string, startupScript: string): Promise<string> {
    const res = await api(1, "POST", "/api/v1/projects", { name, startup_script: startupScript });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }

  /** The project's sandboxes as its users see them, through the i-th BFF. */
  async function fleetView(projectId: string, through = 0): Promise<ApiSandbox[]> {
    const res = await api(through, "GET", `/api/v1/projects/${projectId}/docker-cache/sandboxes`);
    return ((await res.json()) as { sandboxes: ApiSandbox[] }).sandboxes;
  }

  /** Waits until every host in `labels` is seen ready with `buildId` as the newest cache, through both BFFs. */
  async function readyEverywhere(projectId: string, buildId: string, labels = hosts.map((h) => h.label)) {
    for (const through of [0, 1]) {
      await expect
        .poll(
          async () =>
            (await fleetView(projectId, through))
              .filter((s) => s.reachable && s.golden?.state === "ready" && s.golden.build_id === buildId)
              .map((s) => s.label)
              .sort(),
          { timeout: 30_000, interval: 100 },
        )
        .toEqual([...labels].sort());
    }
  }

  async function lastBuild(projectId: string): Promise<{ id: string; status: string }> {
    const res = await api(0, "GET", `/api/v1/projects/${projectId}/docker-cache/builds`);
    const { builds } = (await res.json()) as { builds: { id: string; status: string }[] };
    const build = builds[0];
    if (!build) throw new Error("no build");
    return build;
  }

  /** The project's golden on a host's disk, as the host's layout places it. */
  const goldenTree = (host: Host, projectId: string) =>
    treeManifest(path.join(new SandboxLayout(host.root).goldenPointer(projectId), "docker"));

  /** Each host's stream of events, to see which builds it runs. */
  async function followHosts(): Promise<{
    builds: (projectId: string) => Map<string, string>;
    close: () => Promise<void>;
  }> {
    const streams = await Promise.all(
      hosts.map(async (host) => ({
        host,
        stream: await EventStreamClient.connect(`${host.url}/v1/events`, { authorization: `Bearer ${host.token}` }),
      })),
    );
    return {
      /** Build ID → the label of the host that ran it, for the project's builds. */
      builds: (projectId) => {
        const seen = new Map<string, string>();
        for (const { host, stream } of streams)
          for (const event of stream.events) {
            if (event.event !== "build") continue;
            const { build } = JSON.parse(event.data) as { build: { build_id: string; project_id: string } };
            if (build.project_id === projectId) seen.set(`${build.build_id}@${host.label}`, host.label);
          }
        return seen;
      },
      close: async () => {
        for (const { stream } of streams) await stream.close();
      },
    };
  }

  let projectId: string;
  let firstBuild: string;

  it("builds on one host and replicates to the others: every golden equals the builder's, file by file", async () => {
    const follow = await followHosts();
    projectId = await newProject("Shop", treeScript);
    const started = await api(0, "POST", `/api/v1/projects/${projectId}/docker-cache/builds`, { trigger: "manual" });
    expect(started.status).toBe(202);
    firstBuild = ((await started.json()) as { build: { id: string } }).build.id;

    await readyEverywhere(projectId, firstBuild);
    // One host ran the build; the others fetched it.
    const ran = [...follow.builds(projectId).values()];
    await follow.close();
    expect(ran).toHaveLength(1);
    const builder = hosts.find((h) => h.label === ran[0]);
    if (!builder) throw new Error("no builder");
    const want = await goldenTree(builder, projectId);
    expect(Object.keys(want).length).toBeGreaterThan(25);
    for (const host of hosts) expect(await goldenTree(host, projectId), host.label).toEqual(want);
  });

  it("catches up a host added later, by itself", async () => {
    const fourth = await newHost("sbx-4");
    await addHost(fourth, 1);
    await readyEverywhere(projectId, firstBuild);
    expect(await goldenTree(fourth, projectId)).toEqual(await goldenTree(hosts[0] as Host, projectId));
  });

  it("leaves a host killed while it fetches the new golden with the whole previous one, and fetches the new one after its restart", async () => {
    const previous = await goldenTree(hosts[0] as Host, projectId);
    // The first host to begin fetching is killed the moment its staging directory appears.
    let victim: Host | null = null;
    const watchers = hosts.map((host) =>
      watch(new SandboxLayout(host.root).tmpDir, (_event, name) => {
        if (victim || !String(name).startsWith("replica-")) return;
        victim = host;
        host.process?.kill("SIGKILL");
      }),
    );
    const started = await api(1, "POST", `/api/v1/projects/${projectId}/docker-cache/builds`, { trigger: "manual" });
    expect(started.status).toBe(202);
    const secondBuild = ((await started.json()) as { build: { id: string } }).build.id;
    await expect.poll(() => victim !== null, { timeout: 30_000 }).toBe(true);
    for (const watcher of watchers) watcher.close();
    const killed = victim as unknown as Host;
    await kill9(killed.process);

    // As it died: killed as its staging appeared, mid-way (its staging holds the partial copy).
    const staging = await readdir(new SandboxLayout(killed.root).tmpDir);
    const left = await goldenTree(killed, projectId);
    // The BFFs see it go; the others get the new golden meanwhile.
    await readyEverywhere(
      projectId,
      secondBuild,
      hosts.filter((h) => h !== killed).map((h) => h.label),
    );
    const want = await goldenTree(hosts.find((h) => h !== killed) as Host, projectId);
    expect(want).not.toEqual(previous);
    // The whole previous golden, never a mixture (the whole new one only had it finished first).
    expect(staging.length > 0 ? [previous] : [previous, want]).toContainEqual(left);

    // Back, it sweeps its staging and is asked again at once.
    await startHost(killed);
    await readyEverywhere(projectId, secondBuild);
    for (const host of hosts) expect(await goldenTree(host, projectId), host.label).toEqual(want);
    expect(await readdir(new SandboxLayout(killed.root).tmpDir)).toEqual([]);
  });

  it("deletes the cache on a host that was down when it was asked, when it returns, and brings it back nowhere", async () => {
    const down = hosts[1] as Host;
    await kill9(down.process);
    const deleted = await api(0, "DELETE", `/api/v1/projects/${projectId}/docker-cache`);
    expect(deleted.status).toBe(200);
    const holds = async (host: Host) => {
      const res = await fetch(`${host.url}/v1/goldens/${projectId}`, {
        headers: { authorization: `Bearer ${host.token}` },
      });
      return ((await res.json()) as { exists: boolean }).exists;
    };
    for (const host of hosts.filter((h) => h !== down)) expect(await holds(host), host.label).toBe(false);
    // Still on the disk of the host that was down.
    expect(Object.keys(await goldenTree(down, projectId)).length).toBeGreaterThan(0);

    await startHost(down);
    await expect.poll(() => holds(down), { timeout: 30_000, interval: 100 }).toBe(false);
    for (const through of [0, 1]) {
      await expect
        .poll(async () => (await fleetView(projectId, through)).map((s) => [s.label, s.reachable, s.golden]).sort(), {
          timeout: 30_000,
        })
        .toEqual(hosts.map((h) => [h.label, true, null]).sort());
    }
    for (const host of hosts) expect(await holds(host), host.label).toBe(false);
  });

  it("starts one build in the whole fleet for 250 triggers over both BFFs, and queues one follow-up", async () => {
    const follow = await followHosts();
    const id = await newProject("Busy", gatedScript);
    const enabled = await api(0, "PATCH", `/api/v1/projects/${id}`, { metadata: { auto_warm_docker_cache: true } });
    expect(((await enabled.json()) as { build_started: boolean }).build_started).toBe(true);
    await expect.poll(() => follow.builds(id).size, { timeout: 10_000 }).toBe(1);

    const triggers = [
      ...Array.from({ length: 200 }, (_, i) =>
        api(i, "POST", `/api/v1/projects/${id}/main-changed`, { commit_sha: (0x3000000 + i).toString(16) }),
      ),
      ...Array.from({ length: 50 }, (_, i) =>
        api(i, "POST", `/api/v1/projects/${id}/docker-cache/builds`, { trigger: "retry" }),
      ),
    ];
    expect((await Promise.all(triggers)).map((res) => res.status)).toEqual(triggers.map(() => 202));
    // The first build still runs, on one host; the rest wait as one follow-up.
    expect(follow.builds(id).size).toBe(1);
    for (const through of [0, 1]) {
      const project = (await (await api(through, "GET", `/api/v1/projects/${id}`)).json()) as {
        metadata: { docker_cache_state: { status: string; queued: unknown } };
      };
      expect(project.metadata.docker_cache_state.status).toBe("building");
      expect(project.metadata.docker_cache_state.queued).not.toBeNull();
    }

    /** Lets the project's running build on its host finish. */
    const release = async (buildId: string) => {
      const host = hosts.find((h) => h.label === follow.builds(id).get(`${buildId}@${h.label}`));
      if (!host) throw new Error(`build ${buildId} runs nowhere`);
      // Its /tmp is made as its script starts.
      const tmp = new SandboxLayout(host.root).buildTmpDir(buildId);
      await expect
        .poll(
          () =>
            readdir(tmp).then(
              () => true,
              () => false,
            ),
          { timeout: 30_000 },
        )
        .toBe(true);
      await writeFile(path.join(tmp, "go"), "");
    };
    const first = (await lastBuild(id)).id;
    await release(first);
    await expect.poll(() => follow.builds(id).size, { timeout: 30_000 }).toBe(2);
    const second = (await lastBuild(id)).id;
    expect(second).not.toBe(first);
    await release(second);
    // Both BFFs settle it with nothing left queued: no third build was ever started.
    for (const through of [0, 1]) {
      await expect
        .poll(
          async () => {
            const project = (await (await api(through, "GET", `/api/v1/projects/${id}`)).json()) as {
              metadata: { docker_cache_state: { status: string; build_id: string | null; queued: unknown } };
            };
            return project.metadata.docker_cache_state;
          },
          { timeout: 30_000 },
        )
        .toMatchObject({ status: "ready", build_id: second, queued: null });
    }
    expect(follow.builds(id).size).toBe(2);
    await follow.close();
  });
});
