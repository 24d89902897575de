// The authorization matrix, walked from openapi/bff.yaml: every operation, made by an anonymous
// caller, a stranger, a member and the owner of a project, answers exactly the status written
// here. An operation added to the contract without a line here fails the test, so nobody can
// add an endpoint without deciding who may use it.
import { loadContract } from "@prewarm/api-types/contract";
import { beforeAll, describe, expect, it } from "vitest";
import { signature } from "../src/docker-cache/github-webhook.ts";
import { script, type TestUser, useMockSandbox, useTestBff } from "./helpers.ts";

const sandbox = useMockSandbox();
const contract = loadContract("bff");

// An operator manages the sandbox hosts and is, here, a stranger to the project: being an
// operator gives nothing in any project, and owning one gives nothing over the hosts.
const roles = ["anonymous", "stranger", "member", "owner", "operator"] as const;
type Role = (typeof roles)[number];

interface Fixture {
  projectId: string;
  buildId: string;
  sessionId: string;
  webhookSecret: string;
  /** A draining host of the fleet's, so no build goes there. */
  hostLabel: string;
}

interface Expectation {
  /** The status for anonymous, stranger, member, owner, operator. */
  statuses: [number, number, number, number, number];
  body?: (f: Fixture) => unknown;
  headers?: (f: Fixture, body: string) => Record<string, string>;
  userName?: string;
  /** The operation needs a build running in the fixture. */
  running?: boolean;
}

let hosts = 0;
const webhookPush = JSON.stringify({ ref: "refs/heads/main", after: "abcdef1234567" });

const expectations: Record<string, Expectation> = {
  // Operators' alone: no project user's session or API token reads them, the owner's neither.
  getMetrics: { statuses: [401, 401, 401, 401, 401] },
  getHealth: { statuses: [200, 200, 200, 200, 200] },
  getReadiness: { statuses: [200, 200, 200, 200, 200] },
  logIn: { statuses: [200, 200, 200, 200, 200], body: () => ({ username: "member", password: "member password" }) },
  logOut: { statuses: [204, 204, 204, 204, 204] },
  getMe: { statuses: [401, 200, 200, 200, 200] },
  getSandboxStatus: { statuses: [401, 200, 200, 200, 200] },
  listProjects: { statuses: [401, 200, 200, 200, 200] },
  createProject: { statuses: [401, 201, 201, 201, 201], body: () => ({ name: "Another", startup_script: script }) },
  getProject: { statuses: [401, 404, 200, 200, 404] },
  updateProject: { statuses: [401, 404, 403, 200, 404], body: () => ({ startup_script: "echo changed" }) },
  listProjectMembers: { statuses: [401, 404, 200, 200, 404] },
  listStartupScriptVersions: { statuses: [401, 404, 200, 200, 404] },
  addProjectMember: { statuses: [401, 404, 403, 200, 404], userName: "stranger" },
  removeProjectMember: { statuses: [401, 404, 403, 200, 404], userName: "member" },
  streamProjectEvents: { statuses: [401, 404, 200, 200, 404] },
  reportMainChanged: { statuses: [401, 404, 403, 202, 404], body: () => ({ commit_sha: "abcdef1234567" }) },
  deleteDockerCache: { statuses: [401, 404, 403, 200, 404] },
  listDockerCacheSandboxes: { statuses: [401, 404, 200, 200, 404] },
  listDockerCacheBuilds: { statuses: [401, 404, 200, 200, 404] },
  startDockerCacheBuild: { statuses: [401, 404, 403, 202, 404], body: () => ({ trigger: "manual" }) },
  getDockerCacheBuild: { statuses: [401, 404, 200, 200, 404] },
  getDockerCacheBuildLog: { statuses: [401, 404, 200, 200, 404] },
  resumeDockerCacheBuilds: { statuses: [401, 404, 403, 200, 404] },
  stopDockerCacheBuild: { statuses: [401, 404, 403, 200, 404], running: true },
  rotateWebhookSecret: { statuses: [401, 404, 403, 201, 404] },
  startTestSession: { statuses: [401, 404, 403, 202, 404] },
  getTestSession: { statuses: [401, 404, 200, 200, 404] },
  getTestSessionLog: { statuses: [401, 404, 200, 200, 404] },
  stopTestSession: { statuses: [401, 404, 403, 200, 404] },
  listSandboxHosts: { statuses: [401, 403, 403, 403, 200] },
  addSandboxHost: {
    statuses: [401, 403, 403, 403, 201],
    body: () => ({
      label: `added-${++hosts}`,
      url: `http://added-${hosts}.test`,
      token: "t".repeat(32),
      state: "draining",
    }),
  },
  updateSandboxHost: { statuses: [401, 403, 403, 403, 200], body: () => ({ state: "active" }) },
  removeSandboxHost: { statuses: [401, 403, 403, 403, 204] },
  // Verified by its signature, not by who sends it.
  receiveGithubWebhook: {
    statuses: [202, 202, 202, 202, 202],
    body: () => webhookPush,
    headers: (f, body) => ({
      "x-hub-signature-256": signature(f.webhookSecret, body),
      "x-github-event": "push",
    }),
  },
};

// The fixture settles builds itself, so no monitor races it.
const bff = useTestBff({ monitor: false, metrics: { token: "m".repeat(40), port: null, host: "127.0.0.1" } });
const users = {} as Record<Role, TestUser | null>;

beforeAll(async () => {
  users.anonymous = null;
  users.owner = bff.owner;
  users.member = await bff.addUser("member", "member password");
  users.stranger = await bff.addUser("stranger");
  users.operator = await bff.addUser("operator");
  await bff.services.auth.setOperator(users.operator.id, true);
});

/** A project of the owner's with a member, a finished build and a ready golden (and a running build if asked). */
async function fixture(running: boolean, withHost: boolean): Promise<Fixture> {
  const project = await bff.newProject({ name: "Shop", startup_script: script });
  await bff.services.auth.addMember(project.id, "member");
  const webhookSecret = "s3cret-for-the-matrix";
  await bff.services.store.setWebhookSecret(project.id, webhookSecret);
  const build = async () => {
    const res = await bff.request("POST", `/api/v1/projects/${project.id}/docker-cache/builds`, { trigger: "manual" });
    expect(res.status).toBe(202);
    return (await res.json()).build.id as string;
  };
  const buildId = await build();
  sandbox.emitLog(buildId, "building\n");
  await bff.services.orchestrator.settleFromSandbox(sandbox.finishBuild(buildId, { sizeBytes: 1000 }));
  expect((await bff.services.store.getProject(project.id))?.metadata.docker_cache_state.status).toBe("ready");
  if (running) await build();
  const session = await bff.request("POST", `/api/v1/projects/${project.id}/test-sessions`);
  expect(session.status).toBe(202);
  // The hosts earlier fixtures added go first: a cache deletion asks every host of the fleet.
  for (const { label } of await bff.services.sandboxHosts.list()) {
    if (/^(fixture|added)-/.test(label)) await bff.services.sandboxHosts.remove(label);
  }
  const hostLabel = `fixture-${++hosts}`;
  if (withHost) {
    await bff.services.sandboxHosts.add({
      label: hostLabel,
      url: `http://${hostLabel}.test`,
      token: null,
      state: "draining",
    });
  }
  return { projectId: project.id, buildId, webhookSecret, sessionId: (await session.json()).session_id, hostLabel };
}

describe("the authorization matrix of openapi/bff.yaml", () => {
  it("has an expectation for every operation, and none for operations that do not exist", () => {
    const operations = contract.operations().map((op) => op.operationId);
    expect(operations.filter((id) => !(id in expectations))).toEqual([]);
    expect(Object.keys(expectations).filter((id) => !operations.includes(id))).toEqual([]);
  });

  for (const op of contract.operations()) {
    const expectation = expectations[op.operationId];
    if (!expectation) continue;
    it.each(roles.map((role, i) => [role, expectation.statuses[i]] as const))(
      `${op.method} ${op.path} (${op.operationId}) as %s → %i`,
      async (role, status = 0) => {
        const f = await fixture(expectation.running ?? false, op.path.includes("{label}"));
        const url = op.path
          .replace("{project_id}", f.projectId)
          .replace("{build_id}", f.buildId)
          .replace("{session_id}", f.sessionId)
          .replace("{label}", f.hostLabel)
          .replace("{user_name}", expectation.userName ?? "member");
        const rawBody = expectation.body?.(f);
        const body =
          rawBody === undefined ? undefined : typeof rawBody === "string" ? rawBody : JSON.stringify(rawBody);
        const res = await bff.requestAs(users[role], op.method, url, body, expectation.headers?.(f, body ?? "") ?? {});
        // An event stream never ends by itself; everything else is read whole.
        if (op.operationId === "streamProjectEvents") await res.body?.cancel();
        else await res.text();
        expect(res.status).toBe(status);
        if (status >= 400) expect(res.headers.get("content-type")).toBe("application/problem+json");
        if (status === 401) expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
        // Whatever a stranger or a member is refused leaves the project as it was.
        if (status === 403 || status === 404) {
          const after = await bff.services.store.getProject(f.projectId);
          expect(after?.startup_script).toBe(script);
          expect(await bff.services.auth.members(f.projectId)).toHaveLength(2);
        }
      },
    );
  }
});
