// [Test]: a session of the project that runs its startup script against a copy of the golden.
// The sandbox keeps the runs; the BFF names them (`tst_…`), places each on a host
// (docker-cache/placement.ts: the one with the project's newest golden, when it can), records
// where, says which generation of the cache a run started from (and how far behind it is),
// and answers only for runs of the project in the path, so one project's sessions are never
// reachable through another's.
import { randomUUID } from "node:crypto";
import type { components } from "@prewarm/api-types/bff";
import { loadContract } from "@prewarm/api-types/contract";
import { ProblemError } from "@prewarm/service-kit/problem";
import { idParams, readOptionalJsonBody } from "@prewarm/service-kit/request-body";
import { Hono } from "hono";
import type { AppDeps } from "../../deps.ts";
import { placeSession } from "../../docker-cache/placement.ts";
import { followParam, logResponse } from "../../http/log-response.ts";
import { projectNotFound, startupScriptRequired, testSessionNotFound } from "../../problems.ts";
import { dockerEngineUsed } from "../../sandbox/docker-engine.ts";
import type { FleetHost } from "../../sandbox/fleet.ts";
import type { SandboxTestSession } from "../../sandbox/sandbox-client.ts";

const contract = loadContract("bff");
type Schemas = components["schemas"];

/** The run as the BFF answers it (one recorded by an earlier sandbox may not say how its daemon ran). */
function asTestSession(
  run: SandboxTestSession,
  host: FleetHost,
  cache: Schemas["SessionCache"] | null,
): Schemas["TestSession"] {
  return { ...run, docker_engine: dockerEngineUsed(run.docker_engine), sandbox: host.label, cache };
}

export function testSessionRoutes({ store, fleet, placements, goldens, replication, runUsers }: AppDeps) {
  /** The run, when it is one of this project's, with the generation of the cache it started from. */
  const ofProject = async (
    projectId: string,
    run: SandboxTestSession | null,
    sessionId: string,
    host: FleetHost,
  ): Promise<Schemas["TestSession"]> => {
    if (!run || run.project_id !== projectId) throw testSessionNotFound(sessionId);
    const buildId = run.prepared?.source === "golden" ? run.prepared.golden_build_id : null;
    if (!buildId) return asTestSession(run, host, null);
    // As it stood when the session was first seen prepared, not as it stands after later merges.
    const known = await placements.sessionCache(sessionId);
    if (known?.build_id === buildId) return asTestSession(run, host, known);
    const cache = { build_id: buildId, ...(await goldens.generation(projectId, buildId)) };
    await placements.recordSessionCache(sessionId, cache);
    return asTestSession(run, host, cache);
  };
  /** The host the project's session runs on; sessions of no record ran on SANDBOX_URL's host, before the fleet. */
  const hostOf = async (projectId: string, sessionId: string): Promise<FleetHost> => {
    const recorded = await placements.sessionHost(sessionId, projectId);
    const host =
      recorded === undefined
        ? fleet.all().find((h) => h.from_environment)
        : recorded === null
          ? undefined
          : fleet.get(recorded);
    if (!host) throw testSessionNotFound(sessionId);
    return host;
  };

  return new Hono()
    .post("/:project_id/test-sessions", idParams("project_id"), async (c) => {
      const { project_id } = c.req.valid("param");
      const body = await readOptionalJsonBody<Schemas["StartTestSessionRequest"]>(c, contract, "startTestSession");
      const project = await store.getProject(project_id);
      if (!project) throw projectNotFound(project_id);
      const script = body.startup_script ?? project.startup_script;
      if (script.trim() === "") {
        throw startupScriptRequired();
      }
      // Null only for a project deleted meanwhile.
      const runUser = await runUsers.of(project_id);
      if (!runUser) throw projectNotFound(project_id);
      const placed = await placeSession(placements, fleet, project_id);
      if (!placed.host) {
        throw new ProblemError(502, "sandbox_unavailable", `No sandbox can take a test session: ${placed.why}.`);
      }
      // A deletion of the cache the host owes comes first: no session starts from a deleted golden.
      if (!(await replication.deleteOwed(placed.host, project_id))) {
        throw new ProblemError(502, "sandbox_unavailable", `${placed.host.label} cannot take a test session now.`);
      }
      const sessionId = `tst_${randomUUID().replaceAll("-", "")}`;
      // Recorded first: a run the host did start is always found again.
      await placements.recordSession(sessionId, project_id, placed.host.id);
      // A sandbox that refuses runs answers why; that is the answer here too (502, its words).
      const run = await placed.host.client.startTestSession({
        session_id: sessionId,
        project_id,
        startup_script: script,
        repository_url: project.repository_url,
        branch: project.default_branch,
        run_user: runUser,
      });
      return c.json(await ofProject(project_id, run, sessionId, placed.host), 202);
    })
    .get("/:project_id/test-sessions/:session_id", idParams("project_id", "session_id"), async (c) => {
      const { project_id, session_id } = c.req.valid("param");
      const host = await hostOf(project_id, session_id);
      return c.json(await ofProject(project_id, await host.client.getTestSession(session_id), session_id, host));
    })
    .post("/:project_id/test-sessions/:session_id/stop", idParams("project_id", "session_id"), async (c) => {
      const { project_id, session_id } = c.req.valid("param");
      const host = await hostOf(project_id, session_id);
      await ofProject(project_id, await host.client.getTestSession(session_id), session_id, host);
      return c.json(await ofProject(project_id, await host.client.stopTestSession(session_id), session_id, host));
    })
    .get("/:project_id/test-sessions/:session_id/log", idParams("project_id", "session_id"), async (c) => {
      const { project_id, session_id } = c.req.valid("param");
      const follow = followParam(c);
      const host = await hostOf(project_id, session_id);
      await ofProject(project_id, await host.client.getTestSession(session_id), session_id, host);
      const upstream = await host.client.testSessionLog(session_id, follow, c.req.raw.signal);
      if (!upstream?.body) throw testSessionNotFound(session_id);
      return logResponse(upstream.body, c.req.raw.signal);
    });
}
