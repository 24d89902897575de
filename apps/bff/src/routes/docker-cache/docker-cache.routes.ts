import type { components } from "@prewarm/api-types/bff";
import { loadContract } from "@prewarm/api-types/contract";
import { ProblemError } from "@prewarm/service-kit/problem";
import { idParams, readOptionalJsonBody } from "@prewarm/service-kit/request-body";
import { Hono } from "hono";
import { audit } from "../../audit.ts";
import type { AppDeps } from "../../deps.ts";
import { keptBuilds } from "../../docker-cache/build-orchestrator.ts";
import { projectSandboxes } from "../../docker-cache/project-sandboxes.ts";
import { followParam, logResponse } from "../../http/log-response.ts";
import { buildNotFound, projectNotFound, startupScriptRequired } from "../../problems.ts";

const contract = loadContract("bff");
type Schemas = components["schemas"];

export function dockerCacheRoutes({ store, orchestrator, fleet, placements, goldens, logger }: AppDeps) {
  return new Hono()
    .delete("/:project_id/docker-cache", idParams("project_id"), async (c) => {
      const { project_id } = c.req.valid("param");
      const project = await orchestrator.deleteCache(project_id);
      audit(logger, c, "docker_cache_deleted", { project_id });
      return c.json(project);
    })
    .get("/:project_id/docker-cache/sandboxes", idParams("project_id"), async (c) =>
      c.json(await projectSandboxes({ fleet, goldens }, c.req.valid("param").project_id)),
    )
    .get("/:project_id/docker-cache/builds", idParams("project_id"), async (c) => {
      const { project_id } = c.req.valid("param");
      if (!(await store.getProject(project_id))) throw projectNotFound(project_id);
      return c.json({ builds: await store.listBuilds(project_id, keptBuilds) } satisfies Schemas["BuildList"]);
    })
    .post("/:project_id/docker-cache/builds", idParams("project_id"), async (c) => {
      const { project_id } = c.req.valid("param");
      const body = await readOptionalJsonBody<Schemas["StartBuildRequest"]>(c, contract, "startDockerCacheBuild");
      const result = await orchestrator.trigger(project_id, body.trigger ?? "manual");
      switch (result.kind) {
        case "started":
          return c.json({ project: result.project, build: result.build, queued: false }, 202);
        case "queued":
          return c.json({ project: result.project, build: null, queued: true }, 202);
        case "not_found":
          throw projectNotFound(project_id);
        default:
          throw startupScriptRequired();
      }
    })
    .get("/:project_id/docker-cache/builds/:build_id", idParams("project_id", "build_id"), async (c) => {
      const { project_id, build_id } = c.req.valid("param");
      const build = await store.getBuild(project_id, build_id);
      if (!build) throw buildNotFound(project_id, build_id);
      return c.json(build);
    })
    .post("/:project_id/docker-cache/stop", idParams("project_id"), async (c) => {
      return c.json(await orchestrator.stopBuild(c.req.valid("param").project_id));
    })
    .post("/:project_id/docker-cache/resume", idParams("project_id"), async (c) => {
      return c.json(await orchestrator.resume(c.req.valid("param").project_id));
    })
    .get("/:project_id/docker-cache/builds/:build_id/log", idParams("project_id", "build_id"), async (c) => {
      const { project_id, build_id } = c.req.valid("param");
      const follow = followParam(c);
      const build = await store.getBuild(project_id, build_id);
      if (!build) throw buildNotFound(project_id, build_id);
      const host = fleet.get(await placements.buildHost(build_id));
      const upstream = await host?.client.buildLog(build_id, follow, c.req.raw.signal);
      if (!upstream?.body) throw new ProblemError(404, "log_not_found", `The sandbox has no log for build ${build_id}`);
      return logResponse(upstream.body, c.req.raw.signal);
    });
}
