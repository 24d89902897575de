import type { components } from "@prewarm/api-types/sandbox";
import { idParams } from "@prewarm/service-kit/request-body";
import { Hono } from "hono";
import { diskFreeBytes } from "../../fs/disk.ts";
import type { SandboxServices } from "../../services.ts";

export function goldenRoutes({ goldens, quota, bus, layout }: SandboxServices) {
  return new Hono()
    .get("/", async (c) => {
      const list = await goldens.list();
      return c.json({
        goldens: list,
        used_bytes: list.reduce((total, golden) => total + golden.size_bytes, 0),
        quota_bytes: quota.quotaBytes,
        disk_free_bytes: await diskFreeBytes(layout.root),
      } satisfies components["schemas"]["GoldenList"]);
    })
    .get("/:project_id", idParams("project_id"), async (c) => {
      return c.json(await goldens.info(c.req.valid("param").project_id));
    })
    .delete("/:project_id", idParams("project_id"), async (c) => {
      const { project_id } = c.req.valid("param");
      if (await goldens.delete(project_id)) {
        bus.publish({ type: "golden", reason: "deleted", golden: await goldens.info(project_id), detail: null });
      }
      return c.body(null, 204);
    });
}
