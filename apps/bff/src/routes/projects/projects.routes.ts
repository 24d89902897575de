import type { components } from "@prewarm/api-types/bff";
import { loadContract } from "@prewarm/api-types/contract";
import { idParams, jsonBody, ProblemError } from "@prewarm/api-types/problem";
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { AppDeps } from "../../deps.ts";
import { notFound } from "../../docker-cache/build-orchestrator.ts";
import type { Project } from "../../store/project-store.ts";

const contract = loadContract("bff");
type Schemas = components["schemas"];

const heartbeatMs = 15_000;

export function projectRoutes({ store, orchestrator, events }: AppDeps) {
  return new Hono()
    .get("/", async (c) => c.json({ projects: await store.listProjects() }))
    .post("/", jsonBody<Schemas["CreateProjectRequest"]>(contract, "createProject"), async (c) => {
      return c.json(await store.createProject(c.req.valid("json")), 201);
    })
    .get("/:project_id", idParams("project_id"), async (c) => {
      const { project_id } = c.req.valid("param");
      const project = await store.getProject(project_id);
      if (!project) throw notFound(project_id);
      return c.json(project);
    })
    .patch(
      "/:project_id",
      idParams("project_id"),
      jsonBody<Schemas["UpdateProjectRequest"]>(contract, "updateProject"),
      async (c) => {
        const { project_id } = c.req.valid("param");
        const body = c.req.valid("json");
        const result = await store.updateSettings(project_id, {
          startup_script: body.startup_script,
          auto_warm_docker_cache: body.metadata?.auto_warm_docker_cache,
        });
        if (result.kind === "not_found") throw notFound(project_id);
        if (result.kind === "script_required") {
          throw new ProblemError(
            422,
            "startup_script_required",
            "Add a startup script first — the Docker cache is built by running it.",
          );
        }
        events.publish(result.project);
        let project: Project = result.project;
        let buildStarted = false;
        if (result.turnedOn) {
          const started = await orchestrator.startBuild(project_id, "enable");
          project = started.project;
          buildStarted = started.started;
        }
        return c.json({ project, build_started: buildStarted } satisfies Schemas["UpdateProjectResponse"]);
      },
    )
    .post(
      "/:project_id/main-changed",
      idParams("project_id"),
      jsonBody<Schemas["MainChangedRequest"]>(contract, "reportMainChanged"),
      async (c) => {
        const { project_id } = c.req.valid("param");
        const result = await orchestrator.mainChanged(project_id, c.req.valid("json").commit_sha);
        return c.json(result satisfies Schemas["MainChangedResponse"], 202);
      },
    )
    .get("/:project_id/events", idParams("project_id"), async (c) => {
      const { project_id } = c.req.valid("param");
      const initial = await store.getProject(project_id);
      if (!initial) throw notFound(project_id);
      return streamSSE(c, async (stream) => {
        const queue: Project[] = [initial];
        let wake: (() => void) | null = null;
        const unsubscribe = events.subscribe(project_id, (project) => {
          queue.push(project);
          wake?.();
        });
        stream.onAbort(() => {
          unsubscribe();
          wake?.();
        });
        while (!stream.aborted) {
          const next = queue.shift();
          if (next) {
            // Only the newest state matters; skip states already superseded in the queue.
            if (queue.length > 0) continue;
            await stream.writeSSE({ event: "project", data: JSON.stringify(next) });
            continue;
          }
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, heartbeatMs);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = null;
          if (queue.length === 0 && !stream.aborted) await stream.write(": heartbeat\n\n");
        }
        unsubscribe();
      });
    });
}
