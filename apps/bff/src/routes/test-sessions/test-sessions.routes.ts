// [Test]: a session of the project that runs its startup script against a copy of the golden.
// The sandbox keeps the runs; the BFF names them (`tst_…`) and answers only for runs of the
// project in the path, so one project's sessions are never reachable through another's.
import { randomUUID } from "node:crypto";
import type { components } from "@prewarm/api-types/bff";
import { loadContract } from "@prewarm/api-types/contract";
import { idParams, readOptionalJsonBody } from "@prewarm/service-kit/request-body";
import { Hono } from "hono";
import type { AppDeps } from "../../deps.ts";
import { followParam, logResponse } from "../../http/log-response.ts";
import { projectNotFound, startupScriptRequired, testSessionNotFound } from "../../problems.ts";
import { dockerEngineUsed } from "../../sandbox/docker-engine.ts";
import type { SandboxTestSession } from "../../sandbox/sandbox-client.ts";

const contract = loadContract("bff");
type Schemas = components["schemas"];

/** The run as the BFF answers it (one recorded by an earlier sandbox may not say how its daemon ran). */
function asTestSession(run: SandboxTestSession): Schemas["TestSession"] {
  return { ...run, docker_engine: dockerEngineUsed(run.docker_engine) };
}

export function testSessionRoutes({ store, sandbox, runUsers }: AppDeps) {
  /** The run, when it is one of this project's. */
  const ofProject = (projectId: string, run: SandboxTestSession | null, sessionId: string): Schemas["TestSession"] => {
    if (!run || run.project_id !== projectId) throw testSessionNotFound(sessionId);
    return asTestSession(run);
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
      // A sandbox that refuses runs answers why; that is the answer here too (502, its words).
      const run = await sandbox.startTestSession({
        session_id: `tst_${randomUUID().replaceAll("-", "")}`,
        project_id,
        startup_script: script,
        repository_url: project.repository_url,
        branch: project.default_branch,
        run_user: runUser,
      });
      return c.json(asTestSession(run), 202);
    })
    .get("/:project_id/test-sessions/:session_id", idParams("project_id", "session_id"), async (c) => {
      const { project_id, session_id } = c.req.valid("param");
      return c.json(ofProject(project_id, await sandbox.getTestSession(session_id), session_id));
    })
    .post("/:project_id/test-sessions/:session_id/stop", idParams("project_id", "session_id"), async (c) => {
      const { project_id, session_id } = c.req.valid("param");
      ofProject(project_id, await sandbox.getTestSession(session_id), session_id);
      return c.json(ofProject(project_id, await sandbox.stopTestSession(session_id), session_id));
    })
    .get("/:project_id/test-sessions/:session_id/log", idParams("project_id", "session_id"), async (c) => {
      const { project_id, session_id } = c.req.valid("param");
      const follow = followParam(c);
      ofProject(project_id, await sandbox.getTestSession(session_id), session_id);
      const upstream = await sandbox.testSessionLog(session_id, follow, c.req.raw.signal);
      if (!upstream?.body) throw testSessionNotFound(session_id);
      return logResponse(upstream.body, c.req.raw.signal);
    });
}
