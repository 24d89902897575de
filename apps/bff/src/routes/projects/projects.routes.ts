import type { components } from "@prewarm/api-types/bff";
import { loadContract } from "@prewarm/api-types/contract";
import { idParams, jsonBody } from "@prewarm/service-kit/request-body";
import { streamSubscription } from "@prewarm/service-kit/sse";
import { Hono } from "hono";
import { projectReadWithAccess } from "../../auth/project-access.ts";
import type { AppDeps } from "../../deps.ts";
import { projectSandboxes } from "../../docker-cache/project-sandboxes.ts";
import { projectNotFound, startupScriptRequired } from "../../problems.ts";
import type { SandboxStatus } from "../../sandbox/sandbox-health.ts";
import type { Project } from "../../store/project-rows.ts";

const contract = loadContract("bff");
type Schemas = components["schemas"];

type StreamItem =
  | { kind: "project"; project: Project }
  | { kind: "sandbox"; status: SandboxStatus }
  | { kind: "sandboxes"; list: Schemas["ProjectSandboxList"] };

export function projectRoutes({ store, orchestrator, events, sandboxViews, fleet, goldens }: AppDeps) {
  return new Hono()
    .get("/", async (c) => c.json({ projects: await store.listProjects(c.get("user").id) }))
    .post("/", jsonBody<Schemas["CreateProjectRequest"]>(contract, "createProject"), async (c) => {
      return c.json(await store.createProject({ ...c.req.valid("json"), owner_id: c.get("user").id }), 201);
    })
    .get("/:project_id", idParams("project_id"), async (c) => {
      const { project_id } = c.req.valid("param");
      // Read with the access check, in the same statement, when it was.
      const read = projectReadWithAccess(c, project_id);
      const project = read ? store.shown(read) : await store.getProject(project_id);
      if (!project) throw projectNotFound(project_id);
      return c.json(project);
    })
    .patch(
      "/:project_id",
      idParams("project_id"),
      jsonBody<Schemas["UpdateProjectRequest"]>(contract, "updateProject"),
      async (c) => {
        const { project_id } = c.req.valid("param");
        const body = c.req.valid("json");
        const result = await store.updateSettings(
          project_id,
          {
            startup_script: body.startup_script,
            auto_warm_docker_cache: body.metadata?.auto_warm_docker_cache,
            build_timeout_seconds: body.metadata?.docker_cache_build_timeout_seconds,
            pause_after_failures: body.metadata?.docker_cache_pause_after_failures,
          },
          c.get("user").id,
        );
        if (result.kind === "not_found") throw projectNotFound(project_id);
        if (result.kind === "script_required") {
          throw startupScriptRequired();
        }
        let project: Project = result.project;
        let started = false;
        let queued = false;
        if (result.turnedOn) {
          const triggered = await orchestrator.trigger(project_id, "enable");
          if (triggered.kind !== "not_found") project = triggered.project;
          started = triggered.kind === "started" && triggered.project.metadata.docker_cache_state.status === "building";
          queued = triggered.kind === "queued";
        }
        return c.json({
          project,
          build_started: started,
          build_queued: queued,
        } satisfies Schemas["UpdateProjectResponse"]);
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
    .get("/:project_id/startup-script/versions", idParams("project_id"), async (c) =>
      c.json({
        versions: await store.scriptVersions(c.req.valid("param").project_id),
      } satisfies Schemas["ScriptVersionList"]),
    )
    .get("/:project_id/events", idParams("project_id"), async (c) => {
      const { project_id } = c.req.valid("param");
      const initial = await store.getProject(project_id);
      if (!initial) throw projectNotFound(project_id);
      // The project's cache on the hosts as last told to this stream: told again only when changed.
      let told: string | null = null;
      const changed = (list: Schemas["ProjectSandboxList"]) => {
        const json = JSON.stringify(list);
        const news = json !== told;
        told = json;
        return news;
      };
      return streamSubscription<StreamItem>(c, {
        subscribe: (push) => {
          const stopProject = events.subscribe(project_id, (project) => push({ kind: "project", project }));
          const stopSandbox = fleet.subscribe((status) => push({ kind: "sandbox", status }));
          const stopSandboxes = sandboxViews.subscribe(project_id, (list) => {
            if (changed(list)) push({ kind: "sandboxes", list });
          });
          return () => {
            stopSandboxes();
            stopProject();
            stopSandbox();
          };
        },
        backlog: async () => {
          const sandboxes = await projectSandboxes({ fleet, goldens }, project_id);
          changed(sandboxes);
          return [
            { kind: "project", project: (await store.getProject(project_id)) ?? initial },
            { kind: "sandbox", status: fleet.status() },
            { kind: "sandboxes", list: sandboxes },
          ];
        },
        write: (stream, item) =>
          item.kind === "project"
            ? stream.writeSSE({ event: "project", data: JSON.stringify(item.project) })
            : item.kind === "sandbox"
              ? stream.writeSSE({ event: "sandbox", data: JSON.stringify(item.status) })
              : stream.writeSSE({ event: "sandboxes", data: JSON.stringify(item.list) }),
      });
    });
}
