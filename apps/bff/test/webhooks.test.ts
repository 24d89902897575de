// GitHub webhook deliveries with real signatures: merges to the default branch build, everything
// else is ignored with its reason, and nothing unsigned or replayed gets through.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadSecretKey, SecretBox } from "../src/auth/secret-box.ts";
import { signature } from "../src/docker-cache/github-webhook.ts";
import { script, type TestResponse, useMockSandbox, useTestBff } from "./helpers.ts";

const sandbox = useMockSandbox();
const bff = useTestBff();

/** A project with the setting on and a webhook secret, as an owner would set it up. */
async function hookedProject(options: { on?: boolean } = {}) {
  const { id } = await bff.newProject();
  if (options.on !== false) {
    await bff.request("PATCH", `/api/v1/projects/${id}`, { metadata: { auto_warm_docker_cache: true } });
    sandbox.finishBuild(sandbox.latestBuild(id)?.build_id ?? "");
    await expect
      .poll(
        async () =>
          (await (await bff.request("GET", `/api/v1/projects/${id}`)).json()).metadata.docker_cache_state.status,
      )
      .toBe("ready");
  }
  const res = await bff.request("POST", `/api/v1/projects/${id}/webhook-secret`);
  expect(res.status).toBe(201);
  const { secret, url } = await res.json();
  expect(url).toBe(`/api/v1/webhooks/github/${id}`);
  return { id, secret, url: url as string };
}

let deliveries = 0;
async function deliver(
  url: string,
  event: string,
  payload: unknown,
  options: { secret?: string; sign?: (body: string) => string | undefined; delivery?: string } = {},
) {
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "x-github-event": event,
    "x-github-delivery": options.delivery ?? `delivery-${++deliveries}`,
  };
  const sig = options.sign ? options.sign(body) : signature(options.secret ?? "", body);
  if (sig !== undefined) headers["x-hub-signature-256"] = sig;
  return (await bff.app.request(url, { method: "POST", body, headers })) as TestResponse;
}

const push = (ref: string, after = "9fceb02d0ae598e95dc970b74767f19372d61af8") => ({ ref, after, deleted: false });
const merged = (base: string, merged = true) => ({
  action: "closed",
  number: 42,
  pull_request: { merged, merge_commit_sha: "0123456789abcdef0123456789abcdef01234567", base: { ref: base } },
});

describe("a GitHub webhook delivery", () => {
  it("builds on a push to the default branch", async () => {
    const { id, secret, url } = await hookedProject();
    const res = await deliver(url, "push", push("refs/heads/main"), { secret });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ action: "build_started", reason: "push to refs/heads/main (9fceb02d0ae5)" });
    expect(sandbox.latestBuild(id)?.status).toBe("running");
    const project = await (await bff.request("GET", `/api/v1/projects/${id}`)).json();
    expect(project.main_commit).toBe("9fceb02d0ae598e95dc970b74767f19372d61af8");
  });

  it("builds on a pull request merged into the default branch", async () => {
    const { secret, url } = await hookedProject();
    const res = await deliver(url, "pull_request", merged("main"), { secret });
    expect(await res.json()).toEqual({
      action: "build_started",
      reason: "pull request #42 merged into main (0123456789ab)",
    });
  });

  it("queues behind a running build, and only records while the setting is off", async () => {
    const { secret, url } = await hookedProject();
    await deliver(url, "push", push("refs/heads/main", "aaaaaaaaaaaa"), { secret });
    expect(
      (await (await deliver(url, "push", push("refs/heads/main", "bbbbbbbbbbbb"), { secret })).json()).action,
    ).toBe("queued");
    const off = await hookedProject({ on: false });
    const res = await deliver(off.url, "push", push("refs/heads/main"), { secret: off.secret });
    expect((await res.json()).action).toBe("recorded");
  });

  it.each([
    [
      "a push to another branch",
      "push",
      push("refs/heads/feature"),
      "push to refs/heads/feature, not to the default branch (refs/heads/main)",
    ],
    [
      "a pull request closed without merging",
      "pull_request",
      merged("main", false),
      "pull request #42 was closed without merging",
    ],
    [
      "a pull request merged elsewhere",
      "pull_request",
      merged("release"),
      "pull request #42 was merged into release, not main",
    ],
    [
      "an opened pull request",
      "pull_request",
      { action: "opened", number: 7 },
      "pull request #7 was opened, not merged",
    ],
    ["another event", "issues", { action: "opened" }, "issues events do not change the default branch"],
    ["a ping", "ping", { zen: "Keep it logically awesome." }, "ping: the webhook reaches this project"],
  ])("ignores %s, saying why", async (_, event, payload, reason) => {
    const { id, secret, url } = await hookedProject();
    const before = sandbox.allBuilds().filter((b) => b.project_id === id).length;
    const res = await deliver(url, event, payload, { secret });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ action: "ignored", reason });
    expect(sandbox.allBuilds().filter((b) => b.project_id === id)).toHaveLength(before);
  });

  it.each([
    ["a missing signature", () => undefined],
    ["a signature made with another secret", (body: string) => signature("not-the-secret", body)],
    ["a signature of another body", () => signature("whatever", "{}")],
    ["a malformed signature", () => "sha256=zz"],
    ["a SHA-1 signature", () => "sha1=0123456789abcdef0123456789abcdef01234567"],
  ])("refuses %s with a 401 and does nothing", async (_, sign) => {
    const { id, url } = await hookedProject();
    const before = sandbox.allBuilds().filter((b) => b.project_id === id).length;
    const res = await deliver(url, "push", push("refs/heads/main"), { sign });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: "invalid_signature" });
    expect(sandbox.allBuilds().filter((b) => b.project_id === id)).toHaveLength(before);
  });

  it("refuses deliveries for a project without a secret, or none at all, the same way", async () => {
    const created = await bff.request("POST", "/api/v1/projects", { name: "Shop", startup_script: script });
    const { id } = await created.json();
    for (const target of [id, "prj_missing"]) {
      const res = await deliver(`/api/v1/webhooks/github/${target}`, "push", push("refs/heads/main"), { secret: "" });
      expect(res.status).toBe(401);
    }
  });

  it("ignores a delivery it has handled before", async () => {
    const { id, secret, url } = await hookedProject();
    await deliver(url, "push", push("refs/heads/main", "cccccccccccc"), { secret, delivery: "replayed-1" });
    const builds = sandbox.allBuilds().filter((b) => b.project_id === id).length;
    const replay = await deliver(url, "push", push("refs/heads/main", "dddddddddddd"), {
      secret,
      delivery: "replayed-1",
    });
    expect(await replay.json()).toEqual({ action: "ignored", reason: "delivery replayed-1 was handled before" });
    expect(sandbox.allBuilds().filter((b) => b.project_id === id)).toHaveLength(builds);
  });

  it("stops accepting the old secret once a new one is made", async () => {
    const { secret, url, id } = await hookedProject();
    await bff.request("POST", `/api/v1/projects/${id}/webhook-secret`);
    const res = await deliver(url, "push", push("refs/heads/main"), { secret });
    expect(res.status).toBe(401);
  });
});

describe("a webhook secret at rest", () => {
  const stored = async (id: string) =>
    (await bff.sql.query<{ webhook_secret: string }>("SELECT webhook_secret FROM projects WHERE id = $1", [id]))[0]
      ?.webhook_secret ?? "";

  it("is sealed in the database, so a backup of it alone leaks nothing, and deliveries still verify", async () => {
    const { id, secret, url } = await hookedProject();
    const row = await stored(id);
    expect(row).toMatch(/^sealed:v1:/);
    expect(row).not.toContain(secret);
    expect((await deliver(url, "push", push("refs/heads/main"), { secret })).status).toBe(202);
  });

  it("stored in clear by an earlier version is sealed at start and keeps working", async () => {
    const { id, url } = await hookedProject({ on: false });
    await bff.sql.query("UPDATE projects SET webhook_secret = 'an-old-clear-secret' WHERE id = $1", [id]);
    expect(await bff.services.store.sealWebhookSecrets()).toBeGreaterThanOrEqual(1);
    expect(await stored(id)).toMatch(/^sealed:v1:/);
    expect(await bff.services.store.sealWebhookSecrets()).toBe(0);
    // Verified with the old secret (an answer of a delivery that got through), refused with another.
    expect((await deliver(url, "push", push("refs/heads/feature"), { secret: "an-old-clear-secret" })).status).toBe(
      202,
    );
    expect((await deliver(url, "push", push("refs/heads/feature"), { secret: "not-it" })).status).toBe(401);
  });

  it("is sealed with WEBHOOK_SECRET_KEY, or a key file made once (0600) in the data directory", async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "bff-key-"));
    try {
      const made = await loadSecretKey({ keyBase64: null, dataDir });
      expect(made).toHaveLength(32);
      expect((await stat(path.join(dataDir, "webhook-secret.key"))).mode & 0o777).toBe(0o600);
      expect(await loadSecretKey({ keyBase64: null, dataDir })).toEqual(made);
      const given = randomBytes(32);
      expect(await loadSecretKey({ keyBase64: given.toString("base64"), dataDir })).toEqual(given);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("cannot be opened with another key", () => {
    const sealed = new SecretBox(randomBytes(32)).seal("s3cret");
    const other = new SecretBox(randomBytes(32));
    expect(() => other.open(sealed)).toThrow();
  });
});
