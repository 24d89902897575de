import { loadContract } from "@prewarm/api-types/contract";
import type { components } from "@prewarm/api-types/sandbox";
import { idParams, jsonBody, readOptionalJsonBody } from "@prewarm/service-kit/request-body";
import { Hono } from "hono";
import type { StartBuildRequest } from "../../builds/builds.ts";
import type { SandboxServices } from "../../services.ts";
import { logResponse } from "../log-response.ts";

const contract = loadContract("sandbox");
type StopBuildRequest = components["schemas"]["StopBuildRequest"];

export function buildRoutes({ builds }: SandboxServices) {
  return new Hono()
    .post("/", jsonBody<StartBuildRequest>(contract, "startBuild"), async (c) => {
      const build = await builds.start(c.req.valid("json"));
      return c.json(build, 202);
    })
    .get("/:build_id", idParams("build_id"), async (c) => {
      return c.json(await builds.get(c.req.valid("param").build_id));
    })
    .delete("/:build_id", idParams("build_id"), async (c) => {
      await builds.remove(c.req.valid("param").build_id);
      return c.body(null, 204);
    })
    .post("/:build_id/stop", idParams("build_id"), async (c) => {
      const body = await readOptionalJsonBody<StopBuildRequest>(c, contract, "stopBuild");
      return c.json(await builds.stop(c.req.valid("param").build_id, body.project_id));
    })
    .get("/:build_id/log", idParams("build_id"), async (c) => {
      const { build_id } = c.req.valid("param");
      return logResponse(c.req.query(), ({ offset, follow }) => builds.log(build_id, offset, follow));
    });
}
