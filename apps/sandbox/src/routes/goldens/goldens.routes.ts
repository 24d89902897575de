import { Readable } from "node:stream";
import { loadContract } from "@prewarm/api-types/contract";
import type { components } from "@prewarm/api-types/sandbox";
import { ProblemError } from "@prewarm/service-kit/problem";
import { idParams, jsonBody } from "@prewarm/service-kit/request-body";
import { Hono } from "hono";
import { diskFreeBytes } from "../../fs/disk.ts";
import type { Compression } from "../../golden/golden-archive.ts";
import type { SandboxServices } from "../../services.ts";

const contract = loadContract("sandbox");
type StartReplicationRequest = components["schemas"]["StartReplicationRequest"];

export function goldenRoutes({ goldens, quota, bus, layout, archives, replications }: SandboxServices) {
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
      // A replica arriving now must not bring the deleted golden back.
      await replications.cancel(project_id, "The golden was deleted");
      if (await goldens.delete(project_id)) {
        bus.publish({ type: "golden", reason: "deleted", golden: await goldens.info(project_id), detail: null });
      }
      return c.body(null, 204);
    })
    .get("/:project_id/generations/:build_id/manifest", idParams("project_id", "build_id"), async (c) => {
      const { project_id, build_id } = c.req.valid("param");
      return c.json(await archives.manifest(project_id, build_id));
    })
    .get("/:project_id/generations/:build_id/archive", idParams("project_id", "build_id"), async (c) => {
      const { project_id, build_id } = c.req.valid("param");
      const compression = compressionOf(c.req.query("compression"));
      // A HEAD would start a stream nobody reads, holding the generation pinned.
      if (c.req.method === "HEAD") throw new ProblemError(405, "method_not_allowed", "Ask for the archive with GET");
      const archive = await archives.archive(project_id, build_id, compression);
      return new Response(Readable.toWeb(archive) as ReadableStream, {
        headers: { "content-type": compression === "zstd" ? "application/zstd" : "application/x-tar" },
      });
    })
    .get("/:project_id/replication", idParams("project_id"), async (c) => {
      const { project_id } = c.req.valid("param");
      const replication = replications.get(project_id);
      if (!replication)
        throw new ProblemError(404, "not_found", `No replication of project ${project_id} to this sandbox`);
      return c.json(replication);
    })
    .post(
      "/:project_id/replication",
      idParams("project_id"),
      jsonBody<StartReplicationRequest>(contract, "startReplication"),
      async (c) => {
        const { project_id } = c.req.valid("param");
        const { replication, already } = await replications.start(project_id, c.req.valid("json"));
        return c.json(replication, already ? 200 : 202);
      },
    )
    .delete("/:project_id/replication", idParams("project_id"), async (c) => {
      await replications.cancel(c.req.valid("param").project_id, "Cancelled");
      return c.body(null, 204);
    });
}

function compressionOf(value: string | undefined): Compression {
  if (value === undefined || value === "none" || value === "zstd") return value ?? "none";
  throw new ProblemError(400, "invalid_query", "compression must be none or zstd");
}
