import { loadContract } from "@prewarm/api-types/contract";
import type { components } from "@prewarm/api-types/sandbox";
import { ProblemError } from "@prewarm/service-kit/problem";
import { idParams, jsonBody, readOptionalJsonBody } from "@prewarm/service-kit/request-body";
import { Hono } from "hono";
import type { StartBuildRequest } from "../../builds/builds.ts";
import type { SandboxServices } from "../../services.ts";

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
      const follow = parseBoolean(c.req.query("follow"), "follow");
      const offset = parseOffset(c.req.query("offset"));
      const body = await builds.log(build_id, offset, follow);
      return new Response(body, {
        headers: {
          "content-type": "text/plain; charset=utf-8",
          "cache-control": "no-store",
          "x-content-type-options": "nosniff",
        },
      });
    });
}

function parseBoolean(raw: string | undefined, name: string): boolean {
  if (raw === undefined || raw === "false") return false;
  if (raw === "true") return true;
  throw new ProblemError(400, "invalid_request", `${name} must be true or false`, [
    { path: name, message: "must be true or false" },
  ]);
}

function parseOffset(raw: string | undefined): number {
  if (raw === undefined) return 0;
  if (!/^[0-9]{1,15}$/.test(raw)) {
    throw new ProblemError(400, "invalid_request", "offset must be a non-negative integer", [
      { path: "offset", message: "must be a non-negative integer" },
    ]);
  }
  return Number(raw);
}
