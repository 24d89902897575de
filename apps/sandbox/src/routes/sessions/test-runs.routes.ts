import { loadContract } from "@prewarm/api-types/contract";
import { idParams, jsonBody } from "@prewarm/service-kit/problem";
import { Hono } from "hono";
import type { SandboxServices } from "../../services.ts";
import type { StartTestRun } from "../../sessions/test-runs.ts";

const contract = loadContract("sandbox");

export function testRunRoutes({ testRuns }: SandboxServices) {
  return new Hono()
    .post("/", jsonBody<StartTestRun>(contract, "startTestRun"), async (c) =>
      c.json(await testRuns.start(c.req.valid("json")), 202),
    )
    .get("/:session_id", idParams("session_id"), async (c) =>
      c.json(await testRuns.get(c.req.valid("param").session_id)),
    )
    .post("/:session_id/stop", idParams("session_id"), async (c) =>
      c.json(await testRuns.stop(c.req.valid("param").session_id)),
    )
    .get("/:session_id/log", idParams("session_id"), async (c) => {
      const stream = await testRuns.log(c.req.valid("param").session_id, c.req.query("follow") === "true");
      return new Response(stream, {
        headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
      });
    });
}
