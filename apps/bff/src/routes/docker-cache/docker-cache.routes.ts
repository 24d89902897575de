import type { components } from "@prewarm/api-types/bff";
import { loadContract } from "@prewarm/api-types/contract";
import { idParams, ProblemError, readOptionalJsonBody } from "@prewarm/service-kit/problem";
import { Hono } from "hono";
import type { AppDeps } from "../../deps.ts";

const contract = loadContract("bff");
type Schemas = components["schemas"];

export function dockerCacheRoutes({ store, orchestrator, sandbox }: AppDeps) {
  return new Hono()
    .delete("/:project_id/docker-cache", idParams("project_id"), async (c) => {
      return c.json(await orchestrator.deleteCache(c.req.valid("param").project_id));
    })
    .post("/:project_id/docker-cache/builds", idParams("project_id"), async (c) => {
      const { project_id } = c.req.valid("param");
      const body = await readOptionalJsonBody<Schemas["StartBuildRequest"]>(c, contract, "startDockerCacheBuild");
      const result = await orchestrator.startBuild(project_id, body.trigger ?? "manual");
      if (result.started) {
        return c.json({ project: result.project, build: result.build } satisfies Schemas["StartBuildResponse"], 202);
      }
      if (result.reason === "sandbox_refused") throw result.problem;
      if (result.reason === "already_building") {
        throw new ProblemError(409, "build_running", "A build is already running for this project");
      }
      throw new ProblemError(
        422,
        "startup_script_required",
        "Add a startup script first — the Docker cache is built by running it.",
      );
    })
    .post("/:project_id/docker-cache/stop", idParams("project_id"), async (c) => {
      return c.json(await orchestrator.stopBuild(c.req.valid("param").project_id));
    })
    .get("/:project_id/docker-cache/builds/:build_id/log", idParams("project_id", "build_id"), async (c) => {
      const { project_id, build_id } = c.req.valid("param");
      const follow = c.req.query("follow");
      if (follow !== undefined && follow !== "true" && follow !== "false") {
        throw new ProblemError(400, "invalid_request", "follow must be true or false", [
          { path: "follow", message: "must be true or false" },
        ]);
      }
      const build = await store.getBuild(project_id, build_id);
      if (!build) throw new ProblemError(404, "build_not_found", `No build ${build_id} for project ${project_id}`);
      const upstream = await sandbox.buildLog(build_id, follow === "true", c.req.raw.signal);
      if (!upstream?.body) throw new ProblemError(404, "log_not_found", `The sandbox has no log for build ${build_id}`);
      return new Response(upstream.body, {
        headers: {
          "content-type": "text/plain; charset=utf-8",
          "cache-control": "no-store",
          "x-content-type-options": "nosniff",
        },
      });
    });
}
