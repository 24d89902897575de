import { loadContract } from "@prewarm/api-types/contract";
import { idParams, jsonBody } from "@prewarm/service-kit/request-body";
import { Hono } from "hono";
import type { SandboxServices } from "../../services.ts";
import type { StartTestSession } from "../../sessions/test-sessions.ts";
import { logResponse } from "../log-response.ts";

const contract = loadContract("sandbox");

export function testSessionRoutes({ testSessions }: SandboxServices) {
  return new Hono()
    .post("/", jsonBody<StartTestSession>(contract, "startTestSession"), async (c) =>
      c.json(await testSessions.start(c.req.valid("json")), 202),
    )
    .get("/:session_id", idParams("session_id"), async (c) =>
      c.json(await testSessions.get(c.req.valid("param").session_id)),
    )
    .post("/:session_id/stop", idParams("session_id"), async (c) =>
      c.json(await testSessions.stop(c.req.valid("param").session_id)),
    )
    .get("/:session_id/log", idParams("session_id"), async (c) => {
      const { session_id } = c.req.valid("param");
      return logResponse(c.req.query(), ({ offset, follow }) => testSessions.log(session_id, offset, follow));
    });
}
