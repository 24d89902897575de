import { idParams } from "@prewarm/service-kit/problem";
import { Hono } from "hono";
import type { SandboxServices } from "../../services.ts";

export function goldenRoutes({ goldens, bus }: SandboxServices) {
  return new Hono()
    .get("/:project_id", idParams("project_id"), async (c) => {
      return c.json(await goldens.info(c.req.valid("param").project_id));
    })
    .delete("/:project_id", idParams("project_id"), async (c) => {
      const { project_id } = c.req.valid("param");
      if (await goldens.delete(project_id)) {
        bus.publish({ type: "golden", reason: "deleted", golden: await goldens.info(project_id) });
      }
      return c.body(null, 204);
    });
}
