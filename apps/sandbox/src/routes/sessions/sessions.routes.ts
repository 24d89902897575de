import { loadContract } from "@prewarm/api-types/contract";
import type { components } from "@prewarm/api-types/sandbox";
import { idParams, jsonBody } from "@prewarm/service-kit/request-body";
import { Hono } from "hono";
import type { SandboxServices } from "../../services.ts";

const contract = loadContract("sandbox");

export function sessionRoutes({ sessions }: SandboxServices) {
  return new Hono()
    .post("/", jsonBody<components["schemas"]["PrepareSessionRequest"]>(contract, "prepareSession"), async (c) => {
      const { session_id, project_id } = c.req.valid("json");
      return c.json(await sessions.prepare(session_id, project_id), 201);
    })
    .get("/:session_id", idParams("session_id"), async (c) => {
      return c.json(await sessions.get(c.req.valid("param").session_id));
    })
    .delete("/:session_id", idParams("session_id"), async (c) => {
      await sessions.remove(c.req.valid("param").session_id);
      return c.body(null, 204);
    });
}
