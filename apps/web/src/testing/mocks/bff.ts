// The BFF as component tests see it: typed MSW handlers over an in-memory set of projects that
// behave as openapi/bff.yaml describes. Error cases are per-test `server.use(...)` overrides.
import type { components, paths } from "@prewarm/api-types/bff";
import { HttpResponse } from "msw";
import { createOpenApiHttp } from "openapi-msw";

type Project = components["schemas"]["Project"];
type User = components["schemas"]["User"];

export const owner: User = { id: "usr_owner", name: "alice" };
export const member: User = { id: "usr_member", name: "bob" };
const passwords = new Map([
  ["alice", "alice password"],
  ["bob", "bob password"],
]);
/** Who the browser is logged in as; null when logged out. Every project is alice's, and bob is a member. */
let currentUser: User | null = owner;

export function logInAs(user: User | null): void {
  currentUser = user;
}

type DockerAvailability = components["schemas"]["DockerAvailability"];

/** The Docker engine every build and test session gets where the sandbox has one: rootless. */
export const dockerEngine: components["schemas"]["DockerEngineUsed"] = {
  version: "20.10.24+dfsg1",
  storage_driver: "overlay2",
  rootless: true,
};
/** A sandbox whose runs each get a rootless daemon, as their project's own user. */
export const withDockerEngine: DockerAvailability = {
  available: true,
  detail: null,
  rootless: true,
  projects_isolated: true,
  refuses_runs: false,
};

let sandbox: components["schemas"]["SandboxStatus"] = {
  reachable: true,
  since: new Date().toISOString(),
  detail: null,
  docker: withDockerEngine,
};

/** What GET /api/v1/sandbox answers from now on; whether runs get a Docker daemon stays as it was. */
export function setSandboxReachable(reachable: boolean): void {
  sandbox = {
    ...sandbox,
    reachable,
    since: new Date().toISOString(),
    detail: reachable ? null : "connection refused",
  };
}

/**
 * What runs on the sandbox get from now on: e.g. no Docker engine (`available: false` and why),
 * a root daemon (`rootless: false`), every project as the service's user (`projects_isolated:
 * false`), no runs at all (`refuses_runs` and why), or null before the BFF has asked. It is
 * `withDockerEngine` unless a test says so.
 */
/** A fleet of one, with no cache: what a project sees unless a test gives it more hosts. */
const oneSandbox: components["schemas"]["ProjectSandbox"] = {
  label: "default",
  state: "active",
  reachable: true,
  golden: null,
};
let projectSandboxes = new Map<string, components["schemas"]["ProjectSandbox"][]>();

export function setProjectSandboxes(projectId: string, list: components["schemas"]["ProjectSandbox"][]): void {
  projectSandboxes.set(projectId, list);
}

export function setSandboxDocker(docker: DockerAvailability | null): void {
  sandbox = { ...sandbox, docker };
}
type CacheState = components["schemas"]["DockerCacheState"];

const origin = "http://localhost:3000";
const http = createOpenApiHttp<paths>({ baseUrl: origin });

const projects = new Map<string, Project>();
const logs = new Map<string, string>();
const builds = new Map<string, components["schemas"]["Build"][]>();
const versions = new Map<string, components["schemas"]["ScriptVersion"][]>();
const testSessions = new Map<string, components["schemas"]["TestSession"]>();

/** Moves a test session on, as the sandbox would; the page polls and sees it. */
export function updateTestSession(patch: Partial<components["schemas"]["TestSession"]>): void {
  for (const session of testSessions.values()) Object.assign(session, patch);
}

export function testSessionScripts(): string[] {
  return [...testSessionScript.values()];
}
const testSessionScript = new Map<string, string>();

/** The builds GET .../docker-cache/builds answers for a project, newest first. */
export function seedBuilds(projectId: string, list: components["schemas"]["Build"][]): void {
  builds.set(projectId, list);
}
let buildCounter = 0;

export function resetBff(): void {
  projectSandboxes = new Map();
  currentUser = owner;
  setSandboxReachable(true);
  setSandboxDocker(withDockerEngine);
  projects.clear();
  logs.clear();
  builds.clear();
  versions.clear();
  testSessions.clear();
  testSessionScript.clear();
  buildCounter = 0;
}

export function seedProject(
  overrides: { id?: string; startup_script?: string; auto_warm_docker_cache?: boolean } & Partial<CacheState> = {},
): Project {
  const { id: _id, startup_script: _script, auto_warm_docker_cache: _on, ...state } = overrides;
  const {
    id = "shop",
    startup_script = "#!/bin/bash\ndocker compose build\n",
    auto_warm_docker_cache = false,
  } = overrides;
  const project: Project = {
    id,
    name: "Shop",
    repository_url: "https://git.example/shop.git",
    default_branch: "main",
    startup_script,
    main_commit: null,
    revision: 1,
    metadata: {
      auto_warm_docker_cache,
      docker_cache_build_timeout_seconds: 1800,
      docker_cache_pause_after_failures: 3,
      webhook_configured: false,
      docker_cache_state: {
        status: "none",
        size_bytes: 0,
        last_build_at: null,
        last_ready_at: null,
        build_id: null,
        error: null,
        queued: null,
        golden_commit: null,
        merges_behind: 0,
        consecutive_failures: 0,
        paused: false,
        evicted_at: null,
        ...state,
      },
    },
  };
  projects.set(id, project);
  return project;
}

function recordVersion(projectId: string, script: string): void {
  const list = versions.get(projectId) ?? [];
  list.unshift({
    id: list.length + 1,
    startup_script: script,
    saved_at: new Date().toISOString(),
    saved_by: currentUser,
  });
  versions.set(projectId, list);
}

/** An earlier saved version of a project's script, older than those saved during the test. */
export function seedVersion(projectId: string, script: string, savedAt: string, savedBy: User = owner): void {
  const list = versions.get(projectId) ?? [];
  list.push({ id: list.length + 1, startup_script: script, saved_at: savedAt, saved_by: savedBy });
  versions.set(projectId, list);
}

export function storedProject(id: string): Project | undefined {
  return projects.get(id);
}

export function setLog(buildId: string, text: string): void {
  logs.set(buildId, text);
}

/** A problem-details answer; `response.untyped` because problems use their own media type. */
function problem<R>(response: { untyped: (response: Response) => R }, status: number, code: string, detail: string): R {
  return response.untyped(
    HttpResponse.json(
      { type: `urn:prewarm:problem:${code}`, title: code, status, code, detail },
      { status, headers: { "content-type": "application/problem+json" } },
    ),
  );
}

function startBuild(project: Project): string {
  buildCounter++;
  project.revision++;
  const id = `bld_${buildCounter}`;
  Object.assign(project.metadata.docker_cache_state, {
    status: "building",
    build_id: id,
    last_build_at: new Date().toISOString(),
    error: null,
  });
  return id;
}

export const handlers = [
  http.get("/api/v1/me", ({ response }) =>
    currentUser
      ? response(200).json({ user: currentUser, operator: false })
      : problem(response, 401, "unauthenticated", "Log in, or send an API token."),
  ),
  http.post("/api/v1/auth/login", async ({ request, response }) => {
    const body = await request.json();
    const user =
      "login_token" in body
        ? body.login_token === "link-token-for-bob"
          ? member
          : null
        : [owner, member].find((u) => u.name === body.username && passwords.get(u.name) === body.password);
    if (!user) {
      return problem(
        response,
        401,
        "unauthenticated",
        "login_token" in body
          ? "This login link was used already or has expired; ask for a new one."
          : "Wrong user name or password.",
      );
    }
    currentUser = user;
    return response(200).json({ user, operator: false });
  }),
  http.post("/api/v1/auth/logout", ({ response }) => {
    currentUser = null;
    return response(204).empty();
  }),
  http.get("/api/v1/sandbox", ({ response }) => response(200).json(sandbox)),
  http.get("/api/v1/projects/{project_id}/docker-cache/sandboxes", ({ params, response }) =>
    response(200).json({ sandboxes: projectSandboxes.get(params.project_id) ?? [oneSandbox] }),
  ),
  http.post("/api/v1/projects/{project_id}/test-sessions", async ({ params, request, response }) => {
    const project = projects.get(params.project_id);
    if (!project) return problem(response, 404, "project_not_found", `No project ${params.project_id}`);
    const text = await request.text();
    const script = (text ? JSON.parse(text).startup_script : undefined) ?? project.startup_script;
    const size = project.metadata.docker_cache_state.last_ready_at ? project.metadata.docker_cache_state.size_bytes : 0;
    const session: components["schemas"]["TestSession"] = {
      session_id: `tst_${testSessions.size + 1}`,
      project_id: project.id,
      status: "preparing",
      started_at: new Date().toISOString(),
      finished_at: null,
      prepared: null,
      copied_bytes: 0,
      total_bytes: size,
      exit_code: null,
      error: null,
      // Known once its daemon is up, after the Docker data is prepared (`updateTestSession`).
      docker_engine: null,
      sandbox: "default",
      // Known once prepared from a cache (`updateTestSession`).
      cache: null,
    };
    testSessions.set(session.session_id, session);
    testSessionScript.set(session.session_id, script);
    return response(202).json(session);
  }),
  http.get("/api/v1/projects/{project_id}/test-sessions/{session_id}", ({ params, response }) => {
    const session = testSessions.get(params.session_id);
    return session
      ? response(200).json(session)
      : problem(response, 404, "test_session_not_found", `No test session ${params.session_id}`);
  }),
  http.post("/api/v1/projects/{project_id}/test-sessions/{session_id}/stop", ({ params, response }) => {
    const session = testSessions.get(params.session_id);
    if (!session) return problem(response, 404, "test_session_not_found", `No test session ${params.session_id}`);
    Object.assign(session, { status: "stopped", error: "Stopped" });
    return response(200).json(session);
  }),
  http.get(
    "/api/v1/projects/{project_id}/test-sessions/{session_id}/log",
    () => new HttpResponse("", { headers: { "content-type": "text/plain; charset=utf-8" } }),
  ),
  http.get("/api/v1/projects/{project_id}/startup-script/versions", ({ params, response }) =>
    projects.has(params.project_id)
      ? response(200).json({ versions: versions.get(params.project_id) ?? [] })
      : problem(response, 404, "project_not_found", `No project ${params.project_id}`),
  ),
  http.get("/api/v1/projects/{project_id}/docker-cache/builds", ({ params, response }) =>
    projects.has(params.project_id)
      ? response(200).json({ builds: builds.get(params.project_id) ?? [] })
      : problem(response, 404, "project_not_found", `No project ${params.project_id}`),
  ),
  http.get("/api/v1/projects/{project_id}/docker-cache/builds/{build_id}", ({ params, response }) => {
    const build = builds.get(params.project_id)?.find((candidate) => candidate.id === params.build_id);
    return build ? response(200).json(build) : problem(response, 404, "build_not_found", `No build ${params.build_id}`);
  }),
  http.post("/api/v1/projects/{project_id}/docker-cache/resume", ({ params, response }) => {
    const project = projects.get(params.project_id);
    if (!project) return problem(response, 404, "project_not_found", `No project ${params.project_id}`);
    Object.assign(project.metadata.docker_cache_state, { paused: false, consecutive_failures: 0 });
    project.revision++;
    return response(200).json(project);
  }),
  http.get("/api/v1/projects/{project_id}/members", ({ params, response }) =>
    projects.has(params.project_id)
      ? response(200).json({
          members: [
            { user: owner, role: "owner" },
            { user: member, role: "member" },
          ],
        })
      : problem(response, 404, "project_not_found", `No project ${params.project_id}`),
  ),
  http.get("/api/v1/projects", ({ response }) => response(200).json({ projects: [...projects.values()] })),
  http.get("/api/v1/projects/{project_id}", ({ params, response }) => {
    const project = projects.get(params.project_id);
    return project
      ? response(200).json(project)
      : problem(response, 404, "project_not_found", `No project ${params.project_id}`);
  }),
  http.patch("/api/v1/projects/{project_id}", async ({ params, request, response }) => {
    const project = projects.get(params.project_id);
    if (!project) return problem(response, 404, "project_not_found", `No project ${params.project_id}`);
    const body = await request.json();
    const script = body.startup_script ?? project.startup_script;
    const on = body.metadata?.auto_warm_docker_cache ?? project.metadata.auto_warm_docker_cache;
    if (on && script.trim() === "") {
      return problem(
        response,
        422,
        "startup_script_required",
        "Add a startup script first — the Docker cache is built by running it.",
      );
    }
    const turnedOn = on && !project.metadata.auto_warm_docker_cache;
    if (script !== project.startup_script) recordVersion(project.id, script);
    project.startup_script = script;
    project.metadata.auto_warm_docker_cache = on;
    project.revision++;
    const buildStarted = turnedOn && project.metadata.docker_cache_state.status !== "building";
    if (buildStarted) startBuild(project);
    return response(200).json({ project, build_started: buildStarted, build_queued: false });
  }),
  http.post("/api/v1/projects/{project_id}/docker-cache/builds", async ({ params, request, response }) => {
    const project = projects.get(params.project_id);
    if (!project) return problem(response, 404, "project_not_found", `No project ${params.project_id}`);
    const text = await request.text();
    const trigger = text ? (JSON.parse(text).trigger ?? "manual") : "manual";
    if (project.metadata.docker_cache_state.status === "building") {
      project.metadata.docker_cache_state.queued = { trigger, commit_sha: null, queued_at: new Date().toISOString() };
      project.revision++;
      return response(202).json({ project, build: null, queued: true });
    }
    const id = startBuild(project);
    return response(202).json({
      project,
      build: {
        id,
        project_id: project.id,
        trigger,
        commit_sha: null,
        status: "running",
        started_at: new Date().toISOString(),
        finished_at: null,
        duration_seconds: null,
        error: null,
        size_bytes: null,
        docker_engine: null,
      },
      queued: false,
    });
  }),
  http.post("/api/v1/projects/{project_id}/docker-cache/stop", ({ params, response }) => {
    const project = projects.get(params.project_id);
    if (!project) return problem(response, 404, "project_not_found", `No project ${params.project_id}`);
    const state = project.metadata.docker_cache_state;
    if (state.status !== "building")
      return problem(response, 409, "no_build_running", "No build is running for this project");
    state.status = state.last_ready_at ? "ready" : "none";
    project.revision++;
    return response(200).json(project);
  }),
  http.delete("/api/v1/projects/{project_id}/docker-cache", ({ params, response }) => {
    const project = projects.get(params.project_id);
    if (!project) return problem(response, 404, "project_not_found", `No project ${params.project_id}`);
    Object.assign(project.metadata.docker_cache_state, {
      status: "none",
      size_bytes: 0,
      last_ready_at: null,
      error: null,
    });
    project.revision++;
    return response(200).json(project);
  }),
  http.get("/api/v1/projects/{project_id}/docker-cache/builds/{build_id}/log", ({ params, response }) => {
    const log = logs.get(params.build_id);
    if (log === undefined) return problem(response, 404, "build_not_found", `No build ${params.build_id}`);
    return new HttpResponse(log, { headers: { "content-type": "text/plain; charset=utf-8" } });
  }),
];

export { http as bffHttp, problem };
