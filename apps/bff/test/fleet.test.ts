// The fleet as operators and projects meet it: operators add, drain and remove sandbox hosts
// (nobody sees a token; a host in use or SANDBOX_URL's host is not removed); every BFF process
// on the database takes a change up; a build goes to one host (the project's golden's, else the
// least busy), a session to the golden's host, and nothing new to a draining host; a cache
// deletion reaches every host.

import { randomBytes } from "node:crypto";
import { createSandboxHandlers } from "@prewarm/mock-sandbox/handlers";
import { MockSandbox } from "@prewarm/mock-sandbox/model";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SecretBox } from "../src/auth/secret-box.ts";
import { createLogger } from "../src/logger.ts";
import { Fleet } from "../src/sandbox/fleet.ts";
import { SandboxHosts } from "../src/store/sandbox-hosts.ts";
import { createTestBff, script, type TestBff, useTestBff } from "./helpers.ts";

const logger = createLogger("silent");

// SANDBOX_URL's host (label "default") and a second one.
const first = new MockSandbox();
const second = new MockSandbox();
const secondUrl = "http://sbx-2.test";
const server = setupServer(
  ...createSandboxHandlers(first, "http://sandbox.test"),
  ...createSandboxHandlers(second, secondUrl),
);
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => {
  first.reset();
  second.reset();
});
afterAll(() => server.close());

const bff = useTestBff({ monitor: false });

beforeAll(async () => {
  await bff.services.auth.setOperator(bff.owner.id, true);
});

async function build(projectId: string): Promise<{ id: string; on: "first" | "second" }> {
  const res = await bff.request("POST", `/api/v1/projects/${projectId}/docker-cache/builds`, { trigger: "manual" });
  expect(res.status).toBe(202);
  const id = (await res.json()).build.id as string;
  const on = first.getBuild(id) ? "first" : second.getBuild(id) ? "second" : null;
  if (!on) throw new Error(`build ${id} reached no sandbox`);
  // One host, never both.
  expect(first.getBuild(id) !== null && second.getBuild(id) !== null).toBe(false);
  return { id, on };
}

async function finish(id: string, on: "first" | "second"): Promise<void> {
  const sandbox = on === "first" ? first : second;
  await bff.services.orchestrator.settleFromSandbox(sandbox.finishBuild(id, { sizeBytes: 1000 }));
}

describe("the operator API", () => {
  it("adds, lists, drains and removes hosts, never answering a token", async () => {
    const added = await bff.request("POST", "/api/v1/operator/sandboxes", {
      label: "sbx-9",
      url: "http://sbx-9.test:7071/",
      token: "the host's own token, long enough to be one",
      state: "draining",
    });
    expect(added.status).toBe(201);
    const host = await added.json();
    expect(host).toMatchObject({ label: "sbx-9", url: "http://sbx-9.test:7071", state: "draining", has_token: true });
    expect(JSON.stringify(host)).not.toContain("own token");
    // The same label, or the same URL spelt otherwise, is one host already.
    const again = await bff.request("POST", "/api/v1/operator/sandboxes", { label: "sbx-9", url: "http://x.test" });
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ code: "label_taken" });
    const sameUrl = await bff.request("POST", "/api/v1/operator/sandboxes", {
      label: "other",
      url: "http://SBX-9.test:7071",
    });
    expect(await sameUrl.json()).toMatchObject({ status: 409, code: "url_taken" });
    const ftp = await bff.request("POST", "/api/v1/operator/sandboxes", { label: "ftp", url: "ftp://sbx.test" });
    expect(ftp.status).toBe(400);

    const list = await (await bff.request("GET", "/api/v1/operator/sandboxes")).json();
    expect(list.hosts.map((h: { label: string; state: string }) => `${h.label} ${h.state}`)).toEqual([
      "default active",
      "sbx-9 draining",
    ]);
    expect(list.hosts[0]).toMatchObject({ url: "http://sandbox.test", from_environment: true, has_token: false });
    expect(JSON.stringify(list)).not.toContain("own token");

    const activated = await bff.request("PATCH", "/api/v1/operator/sandboxes/sbx-9", { state: "active" });
    expect(await activated.json()).toMatchObject({ label: "sbx-9", state: "active" });
    expect(bff.services.fleet.byLabel("sbx-9")?.state).toBe("active");
    expect((await bff.request("PATCH", "/api/v1/operator/sandboxes/nope", { state: "active" })).status).toBe(404);
    expect((await bff.request("PATCH", "/api/v1/operator/sandboxes/Bad_Label", { state: "active" })).status).toBe(400);

    expect((await bff.request("DELETE", "/api/v1/operator/sandboxes/sbx-9")).status).toBe(204);
    expect(bff.services.fleet.byLabel("sbx-9")).toBeUndefined();
    const environment = await bff.request("DELETE", "/api/v1/operator/sandboxes/default");
    expect(await environment.json()).toMatchObject({ status: 409, code: "host_from_environment" });
    expect((await bff.request("DELETE", "/api/v1/operator/sandboxes/sbx-9")).status).toBe(404);
  });

  it("refuses a URL with credentials, a query or a fragment, or that is no URL", async () => {
    for (const url of [
      "http://user:pw@sbx.test",
      "http://sbx.test/?a=1",
      "http://sbx.test/#x",
      "http://sbx.test:70000",
    ]) {
      const res = await bff.request("POST", "/api/v1/operator/sandboxes", { label: "bad", url });
      expect(res.status, url).toBe(400);
    }
    expect(bff.services.fleet.byLabel("bad")).toBeUndefined();
  });

  it("is taken up by every BFF process on the database", async () => {
    // Another process's fleet: its own reading of the same database, told by NOTIFY.
    const other = { services: { fleet: new Fleet({ registry: bff.services.sandboxHosts, sql: bff.sql, logger }) } };
    await other.services.fleet.start();
    try {
      expect(
        (await bff.request("POST", "/api/v1/operator/sandboxes", { label: "sbx-3", url: "http://sbx-3.test" })).status,
      ).toBe(201);
      await expect.poll(() => other.services.fleet.byLabel("sbx-3")?.state, { timeout: 5000 }).toBe("active");
      await bff.request("PATCH", "/api/v1/operator/sandboxes/sbx-3", { state: "draining" });
      await expect.poll(() => other.services.fleet.byLabel("sbx-3")?.state, { timeout: 5000 }).toBe("draining");
      await bff.request("DELETE", "/api/v1/operator/sandboxes/sbx-3");
      await expect.poll(() => other.services.fleet.byLabel("sbx-3"), { timeout: 5000 }).toBeUndefined();
    } finally {
      await other.services.fleet.stop();
    }
  });
});

describe("placement over two hosts", () => {
  beforeAll(async () => {
    const res = await bff.request("POST", "/api/v1/operator/sandboxes", {
      label: "sbx-2",
      url: secondUrl,
      token: null,
    });
    expect(res.status).toBe(201);
  });

  it("builds on the least busy host, then where the project's golden is, and never on a draining host", async () => {
    const a = await bff.newProject({ name: "A", startup_script: script });
    const b = await bff.newProject({ name: "B", startup_script: script });
    const c = await bff.newProject({ name: "C", startup_script: script });
    // Both idle: the first by label. Then the other, which runs nothing.
    const aFirst = await build(a.id);
    expect(aFirst.on).toBe("first");
    const bFirst = await build(b.id);
    expect(bFirst.on).toBe("second");
    await finish(aFirst.id, "first");
    await finish(bFirst.id, "second");

    // C runs on the first; A's next build still goes there, to its golden, though the second is idle.
    const cFirst = await build(c.id);
    expect(cFirst.on).toBe("first");
    const aSecond = await build(a.id);
    expect(aSecond.on).toBe("first");
    expect(first.buildRequest(aSecond.id)?.project_id).toBe(a.id);

    // A host running a build is not removed; drained, it gets nothing new, even for its goldens.
    const busy = await bff.request("DELETE", "/api/v1/operator/sandboxes/default");
    expect(busy.status).toBe(409);
    expect((await bff.request("PATCH", "/api/v1/operator/sandboxes/sbx-2", { state: "draining" })).status).toBe(200);
    await finish(aSecond.id, "first");
    await finish(cFirst.id, "first");
    const bSecond = await build(b.id);
    expect(bSecond.on).toBe("first");
    const busyNow = await bff.request("DELETE", "/api/v1/operator/sandboxes/sbx-2");
    expect(busyNow.status).toBe(204);
    await finish(bSecond.id, "first");
    expect((await bff.request("POST", "/api/v1/operator/sandboxes", { label: "sbx-2", url: secondUrl })).status).toBe(
      201,
    );
  });

  it("builds on a host it has heard from before one just added, and on the least busy of those with the newest cache", async () => {
    const { fleet, goldens } = bff.services;
    for (const host of fleet.all()) host.health.reachable();
    // Just added, idle and first by label, but never heard from: it may never answer.
    const added = await bff.request("POST", "/api/v1/operator/sandboxes", { label: "aaa-new", url: "http://new.test" });
    expect(added.status).toBe(201);
    await fleet.reload();
    const busy = [await build((await bff.newProject({ name: "Busy 1", startup_script: script })).id)];
    busy.push(await build((await bff.newProject({ name: "Busy 2", startup_script: script })).id));
    expect(busy.map((b) => b.on).sort()).toEqual(["first", "second"]);
    const fresh = await build((await bff.newProject({ name: "Fresh", startup_script: script })).id);
    expect(["first", "second"]).toContain(fresh.on);

    // Both known hosts hold the newest cache; the one running fewer builds gets the next, though
    // the other comes first by label.
    const project = await bff.newProject({ name: "Warm", startup_script: script });
    const built = await build(project.id);
    await finish(built.id, built.on);
    const other = built.on === "first" ? "second" : "first";
    const hostOf = (on: "first" | "second") => fleet.byLabel(on === "first" ? "default" : "sbx-2");
    await goldens.built(hostOf(other)?.id ?? "", project.id, built.id, 1000);
    const running = [...busy, fresh];
    for (const each of running.filter((b) => b.on === "second")) await finish(each.id, each.on);
    expect(running.some((b) => b.on === "first")).toBe(true);
    const next = await build(project.id);
    expect(next.on).toBe("second");

    for (const each of [...running.filter((b) => b.on === "first"), next]) await finish(each.id, each.on);
    expect((await bff.request("DELETE", "/api/v1/operator/sandboxes/aaa-new")).status).toBe(204);
  });

  it("leaves a build alone on a host this process cannot use, and reports it lost only once the host is removed", async () => {
    const project = await bff.newProject({ name: "Ghost", startup_script: script });
    const built = await build(project.id);
    // A host whose token was sealed with another key: registered, but not this process's to use.
    const other = new SandboxHosts(bff.sql, new SecretBox(randomBytes(32)));
    const ghost = await other.add({
      label: "ghost",
      url: "http://ghost.test",
      token: "g".repeat(32),
      state: "draining",
    });
    if (typeof ghost === "string") throw new Error(ghost);
    await bff.services.fleet.reload();
    expect(bff.services.fleet.byLabel("ghost")).toBeUndefined();
    await bff.sql.query("UPDATE builds SET host_id = $2 WHERE id = $1", [built.id, ghost.id]);

    await bff.services.orchestrator.reconcile();
    expect((await bff.services.store.getBuild(project.id, built.id))?.status).toBe("running");
    const stop = await bff.request("POST", `/api/v1/projects/${project.id}/docker-cache/stop`);
    expect(stop.status).toBe(502);
    expect((await bff.services.store.getBuild(project.id, built.id))?.status).toBe("running");

    await bff.sql.query("DELETE FROM sandbox_hosts WHERE id = $1", [ghost.id]);
    await bff.services.orchestrator.reconcile();
    expect(await bff.services.store.getBuild(project.id, built.id)).toMatchObject({
      status: "interrupted",
      error: "Its sandbox host was removed",
    });
  });

  it("starts a test session where the project's golden is, and finds it there again", async () => {
    const project = await bff.newProject({ name: "Warm", startup_script: script });
    await bff.request("PATCH", "/api/v1/operator/sandboxes/default", { state: "draining" });
    const built = await build(project.id);
    expect(built.on).toBe("second");
    await finish(built.id, "second");
    await bff.request("PATCH", "/api/v1/operator/sandboxes/default", { state: "active" });

    const started = await bff.request("POST", `/api/v1/projects/${project.id}/test-sessions`);
    expect(started.status).toBe(202);
    const session = await started.json();
    expect(second.testSessions.latest(project.id)?.session_id).toBe(session.session_id);
    expect(first.testSessions.latest(project.id)).toBeNull();
    const read = await bff.request("GET", `/api/v1/projects/${project.id}/test-sessions/${session.session_id}`);
    expect(await read.json()).toMatchObject({ session_id: session.session_id, project_id: project.id });
    const stopped = await bff.request(
      "POST",
      `/api/v1/projects/${project.id}/test-sessions/${session.session_id}/stop`,
    );
    expect(stopped.status).toBe(200);
    // Another project's ID does not reach it.
    const other = await bff.newProject({ name: "Other", startup_script: script });
    const foreign = await bff.request("GET", `/api/v1/projects/${other.id}/test-sessions/${session.session_id}`);
    expect(foreign.status).toBe(404);
  });

  it("deletes the cache on every host, and reads a build's log from its own host", async () => {
    const project = await bff.newProject({ name: "Both", startup_script: script });
    const built = await build(project.id);
    const sandbox = built.on === "first" ? first : second;
    sandbox.emitLog(built.id, "step 1 of 1\n");
    await finish(built.id, built.on);
    const log = await bff.request("GET", `/api/v1/projects/${project.id}/docker-cache/builds/${built.id}/log`);
    expect(await log.text()).toContain("step 1 of 1");
    // As if replicated: both hosts hold it.
    (built.on === "first" ? second : first).setGolden(project.id, 1000);
    const deleted = await bff.request("DELETE", `/api/v1/projects/${project.id}/docker-cache`);
    expect(deleted.status).toBe(200);
    expect(first.getGolden(project.id).exists).toBe(false);
    expect(second.getGolden(project.id).exists).toBe(false);
  });

  it("keeps the cache ready after a build stopped on a host that holds none, while another host holds it", async () => {
    const project = await bff.newProject({ name: "Elsewhere", startup_script: script });
    const built = await build(project.id);
    await finish(built.id, built.on);
    const holder = built.on === "first" ? "default" : "sbx-2";
    await bff.services.sandboxHosts.setState(holder, "draining");
    await bff.services.fleet.reload();
    try {
      const next = await build(project.id);
      expect(next.on).not.toBe(built.on);
      const stopped = await bff.request("POST", `/api/v1/projects/${project.id}/docker-cache/stop`);
      expect(stopped.status).toBe(200);
      expect((await stopped.json()).metadata.docker_cache_state).toMatchObject({ status: "ready", size_bytes: 1000 });
    } finally {
      await bff.services.sandboxHosts.setState(holder, "active");
      await bff.services.fleet.reload();
    }
  });

  it("records no golden of a build the cache was deleted after, and takes one host's clean-up for no deletion of the cache", async () => {
    const { goldens, fleet } = bff.services;
    const hostOf = (on: "first" | "second") => fleet.byLabel(on === "first" ? "default" : "sbx-2")?.id ?? "";
    const project = await bff.newProject({ name: "Late", startup_script: script });
    const built = await build(project.id);
    await finish(built.id, built.on);
    expect((await bff.request("DELETE", `/api/v1/projects/${project.id}/docker-cache`)).status).toBe(200);
    // Its promotion heard of only now, after the deletion: not recorded anywhere.
    await goldens.built(hostOf(built.on), project.id, built.id, 1000);
    expect(await goldens.ofProject(project.id)).toEqual([]);

    // A later build is. One host cleaning up a stray golden of the project deletes no other's.
    const next = await build(project.id);
    await finish(next.id, next.on);
    await goldens.deleteOn(hostOf(next.on === "first" ? "second" : "first"), project.id);
    await goldens.forget(hostOf(next.on), project.id);
    const golden = { project_id: project.id, build_id: next.id, size_bytes: 1000, built_at: null };
    expect(await goldens.account(hostOf(next.on), golden)).toBe("recorded");
  });

  it("refuses a cache deletion whole while a build runs: nothing deleted on any host, nothing owed", async () => {
    const project = await bff.newProject({ name: "Busy", startup_script: script });
    const built = await build(project.id);
    await finish(built.id, built.on);
    (built.on === "first" ? second : first).setGolden(project.id, 1000);
    await build(project.id);
    const refused = await bff.request("DELETE", `/api/v1/projects/${project.id}/docker-cache`);
    expect(refused.status).toBe(409);
    expect(first.getGolden(project.id).exists).toBe(true);
    expect(second.getGolden(project.id).exists).toBe(true);
    const { goldens, fleet } = bff.services;
    const recorded = async () => (await goldens.ofProject(project.id)).map((g) => g.host_id);
    const before = await recorded();
    expect(before).not.toEqual([]);
    for (const host of fleet.all()) expect(await goldens.owedSince(host.id, project.id)).toBeNull();
    // A build that takes the project between a check and the deletion is the same refusal: the
    // project's record refuses to be cleared, inside the deletion's transaction.
    expect(await goldens.deleteEverywhere(project.id, async () => null)).toBeNull();
    expect(await recorded()).toEqual(before);
    for (const host of fleet.all()) expect(await goldens.owedSince(host.id, project.id)).toBeNull();
  });
});

describe("replication over two hosts", () => {
  // A BFF of its own that follows both hosts' events, as a deployed one does.
  let live: TestBff;
  beforeAll(async () => {
    live = await createTestBff({ reconcileIntervalMs: 200 });
    await live.services.sandboxHosts.add({ label: "sbx-2", url: secondUrl, token: "s".repeat(32) });
    await live.services.fleet.reload();
  });
  afterAll(async () => {
    await live.close();
  });

  const row = async (projectId: string, on: MockSandbox) => {
    const label = on === first ? "default" : "sbx-2";
    const host = live.services.fleet.byLabel(label);
    return (await live.services.goldens.ofProject(projectId)).find((golden) => golden.host_id === host?.id);
  };

  /** A project whose first build succeeded on one host (the builder); the other is asked to fetch it. */
  const builtOnOne = async (name: string) => {
    const project = await live.newProject({ name, startup_script: script });
    const res = await live.request("POST", `/api/v1/projects/${project.id}/docker-cache/builds`, { trigger: "manual" });
    const buildId = (await res.json()).build.id as string;
    const [builder, other] = first.getBuild(buildId) ? [first, second] : [second, first];
    builder.finishBuild(buildId, { sizeBytes: 5000 });
    return { project, buildId, builder, other };
  };

  it("builds once and has every other host fetch the golden from the builder, with progress", async () => {
    const { project, buildId, builder, other } = await builtOnOne("Spread");

    await expect.poll(() => other.replications.get(project.id)?.state, { timeout: 10_000 }).toBe("receiving");
    expect(other.replications.request(project.id)).toMatchObject({
      build_id: buildId,
      source_url: builder === first ? "http://sandbox.test" : secondUrl,
      source_token: builder === first ? null : "s".repeat(32),
    });
    // Built once: the other host never got the build.
    expect(other.getBuild(buildId)).toBeNull();
    other.replications.progress(project.id, 0.62, 5000);
    await expect.poll(async () => (await row(project.id, other))?.progress, { timeout: 10_000 }).toBeCloseTo(0.62);
    // What the project's users see: hosts by label, each with its generation and how it stands.
    const seen = await (await live.request("GET", `/api/v1/projects/${project.id}/docker-cache/sandboxes`)).json();
    const byLabel = Object.fromEntries(seen.sandboxes.map((each: { label: string }) => [each.label, each]));
    const [builderLabel, otherLabel] = builder === first ? ["default", "sbx-2"] : ["sbx-2", "default"];
    expect(byLabel[builderLabel]).toMatchObject({
      state: "active",
      reachable: true,
      golden: { state: "ready", build_id: buildId, newest: true, size_bytes: 5000, merges_behind: 0 },
    });
    expect(byLabel[otherLabel]).toMatchObject({ golden: { state: "replicating", build_id: buildId, error: null } });
    expect(byLabel[otherLabel].golden.progress).toBeCloseTo(0.62);
    expect(JSON.stringify(seen)).not.toMatch(/http|token/);
    // A catch-up looks at the projects some host still lacks, and only at those.
    const { goldens, fleet } = live.services;
    const otherHost = fleet.byLabel(otherLabel)?.id;
    expect(await goldens.lagging()).toContain(project.id);
    expect(await goldens.lagging(otherHost)).toContain(project.id);
    expect(await goldens.lagging(fleet.byLabel(builderLabel)?.id)).not.toContain(project.id);
    other.replications.promote(project.id, 5000);
    await expect.poll(async () => (await row(project.id, other))?.state, { timeout: 10_000 }).toBe("ready");
    expect(other.getGolden(project.id)).toMatchObject({ exists: true, build_id: buildId });
    expect(await goldens.lagging()).not.toContain(project.id);
  });

  it("tells an open page of each change of the project's cache on the hosts: progress, promotion, a host drained", async () => {
    const { project, builder, other } = await builtOnOne("Watched");
    await expect.poll(() => other.replications.get(project.id)?.state, { timeout: 10_000 }).toBe("receiving");
    const stream = await live.request("GET", `/api/v1/projects/${project.id}/events`);
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = "";
    /** The `sandboxes` events so far, each as the host list it carried. */
    const told = () =>
      [...text.matchAll(/event: sandboxes\ndata: (.*)\n/g)].map(
        (m) =>
          JSON.parse(m[1] ?? "{}").sandboxes as {
            label: string;
            state: string;
            golden: { state: string; progress: number } | null;
          }[],
      );
    const until = async (match: (list: ReturnType<typeof told>[number]) => boolean) => {
      while (!told().some(match)) text += decoder.decode((await reader.read()).value, { stream: true });
    };
    const otherLabel = builder === first ? "sbx-2" : "default";
    const on = (list: ReturnType<typeof told>[number]) => list.find((each) => each.label === otherLabel);
    try {
      await until((list) => on(list)?.golden?.state === "replicating");
      other.replications.progress(project.id, 0.37, 5000);
      await until((list) => on(list)?.golden?.progress === 0.37);
      other.replications.promote(project.id, 5000);
      await until((list) => on(list)?.golden?.state === "ready");
      await live.services.sandboxHosts.setState(otherLabel, "draining");
      await until((list) => on(list)?.state === "draining");
      // Each event says something new.
      const seen = told().map((list) => JSON.stringify(list));
      expect(new Set(seen).size).toBe(seen.length);
    } finally {
      await reader.cancel();
      await live.services.sandboxHosts.setState(otherLabel, "active");
      await live.services.fleet.reload();
    }
  });

  it("starts a session from an older cache where the newest has not arrived, and says which", async () => {
    const { project, buildId, other } = await builtOnOne("Older");
    await expect.poll(() => other.replications.get(project.id)?.state, { timeout: 10_000 }).toBe("receiving");
    other.replications.promote(project.id, 5000);
    await expect.poll(async () => (await row(project.id, other))?.state, { timeout: 10_000 }).toBe("ready");
    // A newer build, on either host; the other one has not fetched it yet.
    const res = await live.request("POST", `/api/v1/projects/${project.id}/docker-cache/builds`, { trigger: "manual" });
    const newer = (await res.json()).build.id as string;
    const [newBuilder, behind] = first.getBuild(newer) ? [first, second] : [second, first];
    newBuilder.finishBuild(newer, { sizeBytes: 6000 });
    await expect.poll(() => behind.replications.get(project.id)?.build_id, { timeout: 10_000 }).toBe(newer);
    // The newer one's host drained: the session goes to the host that still has the older cache.
    const drained = newBuilder === first ? "default" : "sbx-2";
    await live.services.sandboxHosts.setState(drained, "draining");
    await live.services.fleet.reload();
    try {
      const started = await live.request("POST", `/api/v1/projects/${project.id}/test-sessions`);
      expect(started.status).toBe(202);
      const session = await started.json();
      expect(session.sandbox).toBe(drained === "default" ? "sbx-2" : "default");
      // The older generation was a merge's build, two merges ago.
      await live.sql.query("UPDATE builds SET commit_sha = 'abc1234def', merges = 1 WHERE id = $1", [buildId]);
      await live.sql.query("UPDATE projects SET main_merges = 3 WHERE id = $1", [project.id]);
      behind.testSessions.prepare(session.session_id, { seconds: 0.4 });
      const url = `/api/v1/projects/${project.id}/test-sessions/${session.session_id}`;
      const older = { build_id: buildId, commit_sha: "abc1234def", newest: false, merges_behind: 2 };
      expect((await (await live.request("GET", url)).json()).cache).toEqual(older);
      // The host fetching the newer cache still holds the older one: placement counts it warm,
      // and the page says what its sessions start from meanwhile.
      const { fleet, placements } = live.services;
      const behindLabel = drained === "default" ? "sbx-2" : "default";
      expect(await placements.goldenHosts(project.id)).toEqual([
        [fleet.byLabel(drained)?.id],
        [fleet.byLabel(behindLabel)?.id],
      ]);
      const view = async () =>
        (
          await (await live.request("GET", `/api/v1/projects/${project.id}/docker-cache/sandboxes`)).json()
        ).sandboxes.find((each: { label: string }) => each.label === behindLabel).golden;
      expect(await view()).toMatchObject({
        state: "replicating",
        build_id: newer,
        held: { build_id: buildId, commit_sha: "abc1234def", merges_behind: 2, size_bytes: 5000 },
      });
      // Failed, it still holds it; promoted, the newer one replaces it.
      behind.replications.fail(project.id, "The source could not be reached");
      await expect.poll(async () => (await view()).state, { timeout: 10_000 }).toBe("failed");
      expect((await view()).held).toMatchObject({ build_id: buildId });
      behind.restart();
      await expect.poll(() => behind.replications.get(project.id)?.state, { timeout: 20_000 }).toBe("receiving");
      behind.replications.promote(project.id, 6000);
      await expect.poll(async () => (await view()).state, { timeout: 10_000 }).toBe("ready");
      expect(await view()).toMatchObject({ build_id: newer, held: null, size_bytes: 6000 });
      // Said as it stood when the session started, whatever merges come after.
      await live.sql.query("UPDATE projects SET main_merges = 9 WHERE id = $1", [project.id]);
      expect((await (await live.request("GET", url)).json()).cache).toEqual(older);
    } finally {
      await live.services.sandboxHosts.setState(drained, "active");
      await live.services.fleet.reload();
    }
  });

  it("takes stock of a host that returns: a golden whose cache was deleted meanwhile is deleted there, one that came unheard of is recorded", async () => {
    const { goldens, fleet, sandboxHosts } = live.services;
    const { project, buildId, other } = await builtOnOne("Away");
    await expect.poll(() => other.replications.get(project.id)?.state, { timeout: 10_000 }).toBe("receiving");
    other.replications.promote(project.id, 5000);
    await expect.poll(async () => (await row(project.id, other))?.state, { timeout: 10_000 }).toBe("ready");

    // sbx-2 is removed with its golden on its disk; the cache is deleted; sbx-2 comes back as a new host.
    expect(await sandboxHosts.remove("sbx-2")).toBe("removed");
    await fleet.reload();
    expect((await live.request("DELETE", `/api/v1/projects/${project.id}/docker-cache`)).status).toBe(200);
    expect(first.getGolden(project.id).exists).toBe(false);
    expect(second.getGolden(project.id).exists).toBe(true);
    await sandboxHosts.add({ label: "sbx-2", url: secondUrl, token: "s".repeat(32) });
    await fleet.reload();
    await expect.poll(() => second.getGolden(project.id).exists, { timeout: 10_000 }).toBe(false);
    expect(await row(project.id, second)).toBeUndefined();

    // A golden no record knows of and no deletion came after: recorded as what the host holds.
    const host = fleet.byLabel("sbx-2")?.id ?? "";
    const unheard = await builtOnOne("Unheard");
    await live.sql.query("DELETE FROM host_goldens WHERE project_id = $1 AND host_id = $2", [unheard.project.id, host]);
    const golden = { project_id: unheard.project.id, build_id: unheard.buildId, size_bytes: 5000, built_at: null };
    expect(await goldens.account(host, golden)).toBe("recorded");
    expect(await row(unheard.project.id, second)).toMatchObject({ state: "ready", build_id: unheard.buildId });
    expect(await goldens.account(host, golden)).toBe("known");
    expect(await goldens.account(host, { ...golden, project_id: "prj_elsewhere" })).toBe("foreign");
    expect(buildId).not.toBe(unheard.buildId);
  });

  it("asks a host again after its replication failed, once it returns", async () => {
    const { project, other } = await builtOnOne("Retry");
    await expect.poll(() => other.replications.get(project.id)?.state, { timeout: 10_000 }).toBe("receiving");
    other.replications.fail(project.id, `The source ${secondUrl} (10.0.0.7:7071) could not be reached`);
    const failed = async () =>
      (
        await (await live.request("GET", `/api/v1/projects/${project.id}/docker-cache/sandboxes`)).json()
      ).sandboxes.find((each: { golden: { state: string } | null }) => each.golden?.state === "failed");
    // Its users learn why, with hosts named by label and no address.
    await expect
      .poll(async () => (await failed())?.golden.error, { timeout: 10_000 })
      .toBe("The source sbx-2 ((an address)) could not be reached");
    // A restart of the host (its stream ends and comes back) is when it is asked again.
    other.restart();
    await expect.poll(() => other.replications.get(project.id)?.state, { timeout: 20_000 }).toBe("receiving");
    other.replications.promote(project.id, 5000);
    await expect.poll(async () => (await row(project.id, other))?.state, { timeout: 10_000 }).toBe("ready");
  });

  it("deletes the cache on a host that is down once it returns, and a golden promoted meanwhile does not stay", async () => {
    const { project, builder, other } = await builtOnOne("Gone");
    await expect.poll(() => other.replications.get(project.id)?.state, { timeout: 10_000 }).toBe("receiving");

    // The other host drops off the network mid-transfer; the cache is deleted meanwhile.
    other.online = false;
    other.restart();
    const otherHost = live.services.fleet.byLabel(other === first ? "default" : "sbx-2");
    await expect.poll(() => otherHost?.health.status().reachable, { timeout: 10_000 }).toBe(false);
    const deleted = await live.request("DELETE", `/api/v1/projects/${project.id}/docker-cache`);
    expect(deleted.status).toBe(200);
    expect(builder.getGolden(project.id).exists).toBe(false);
    // Unseen by the BFF, the transfer ends and promotes the deleted cache there.
    other.replications.promote(project.id, 5000);
    expect(other.getGolden(project.id).exists).toBe(true);

    other.online = true;
    await expect.poll(() => other.getGolden(project.id).exists, { timeout: 20_000 }).toBe(false);
    expect(await live.services.goldens.ofProject(project.id)).toEqual([]);
    expect(await live.services.goldens.deletionsOwed(otherHost?.id ?? "")).toEqual([]);
    // And it is not fetched again.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(other.replications.get(project.id)?.state).toBe("promoted");
    expect(other.getGolden(project.id).exists).toBe(false);
  });
});
