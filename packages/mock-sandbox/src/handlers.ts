// MSW handlers for every operation of openapi/sandbox.yaml, typed by its generated paths and
// backed by a MockSandbox. The same handlers serve the BFF's tests (in process) and the e2e
// suite (over HTTP, see serve.ts).
import { isValidId, loadContract } from "@prewarm/api-types/contract";
import type { paths } from "@prewarm/api-types/sandbox";
import { invalidId, ProblemError, problemResponse } from "@prewarm/service-kit/problem";
import { HttpResponse } from "msw";
import { createOpenApiHttp } from "openapi-msw";
import { type MockSandbox, MockSandboxError, type SequencedEvent } from "./mock-sandbox.ts";

const contract = loadContract("sandbox");

/** The real service's problem body, made by the same code. */
function problem(status: number, code: string, detail: string) {
  return problemResponse(new ProblemError(status, code, detail).toProblem());
}

/** Answers like the real service: bad IDs are 400, domain errors keep their code. */
function guarded(sandbox: MockSandbox, ids: Record<string, unknown>, answer: () => Response | Promise<Response>) {
  if (!sandbox.online) return HttpResponse.error();
  for (const [name, value] of Object.entries(ids)) {
    if (typeof value !== "string" || !isValidId(value)) return problemResponse(invalidId(name).toProblem());
  }
  try {
    return answer();
  } catch (error) {
    if (error instanceof MockSandboxError) return problem(error.status, error.code, error.message);
    throw error;
  }
}

/**
 * A start's body as the real service takes it: valid against the contract (its defaults filled
 * in), so a caller that leaves out what the contract requires (e.g. `run_user`) is refused here too.
 */
function validStart<T>(operationId: "startBuild" | "startTestSession" | "startReplication", body: unknown): T {
  const result = contract.validateBody<T>(operationId, body);
  if (result.ok) return result.value;
  const parts = result.errors.map((error) => `${error.path} ${error.message}`).join("; ");
  throw new MockSandboxError(400, "invalid_request", `The request is invalid: ${parts}`);
}

export function createSandboxHandlers(sandbox: MockSandbox, baseUrl: string) {
  const http = createOpenApiHttp<paths>({ baseUrl });
  return [
    http.get("/v1/health", ({ response }) => {
      if (!sandbox.online) return HttpResponse.error();
      return response(200).json({ status: "ok" });
    }),
    http.get("/v1/docker", ({ response }) => {
      if (!sandbox.online) return HttpResponse.error();
      return response(200).json(sandbox.docker);
    }),
    http.post("/v1/builds", async ({ request, response }) => {
      const body = await request.json();
      return guarded(sandbox, { build_id: body.build_id, project_id: body.project_id }, () =>
        response(202).json(sandbox.startBuild(validStart("startBuild", body))),
      );
    }),
    http.get("/v1/builds/{build_id}", ({ params, response }) =>
      guarded(sandbox, params, () => {
        const build = sandbox.getBuild(params.build_id);
        return build ? response(200).json(build) : problem(404, "build_not_found", `No build ${params.build_id}`);
      }),
    ),
    http.delete("/v1/builds/{build_id}", ({ params, response }) =>
      guarded(sandbox, params, () => {
        sandbox.removeBuild(params.build_id);
        return response(204).empty();
      }),
    ),
    http.post("/v1/builds/{build_id}/stop", async ({ params, request, response }) => {
      const text = await request.text();
      const projectId = text ? (JSON.parse(text) as { project_id?: string }).project_id : undefined;
      return guarded(sandbox, params, () => {
        const build = sandbox.stopBuild(params.build_id, projectId);
        return build ? response(200).json(build) : problem(404, "build_not_found", `No build ${params.build_id}`);
      });
    }),
    http.get("/v1/builds/{build_id}/log", ({ params, query }) =>
      guarded(sandbox, params, () => {
        const stream = sandbox.logStream(params.build_id, query.get("follow") === "true");
        if (!stream) return problem(404, "build_not_found", `No build ${params.build_id}`);
        return new HttpResponse(stream, { headers: { "content-type": "text/plain; charset=utf-8" } });
      }),
    ),
    http.post("/v1/test-sessions", async ({ request, response }) => {
      const body = await request.json();
      return guarded(sandbox, { session_id: body.session_id, project_id: body.project_id }, () =>
        response(202).json(sandbox.testSessions.start(validStart("startTestSession", body))),
      );
    }),
    http.get("/v1/test-sessions/{session_id}", ({ params, response }) =>
      guarded(sandbox, params, () => {
        const run = sandbox.testSessions.get(params.session_id);
        return run
          ? response(200).json(run)
          : problem(404, "test_session_not_found", `No test session ${params.session_id}`);
      }),
    ),
    http.post("/v1/test-sessions/{session_id}/stop", ({ params, response }) =>
      guarded(sandbox, params, () => {
        const run = sandbox.testSessions.stop(params.session_id);
        return run
          ? response(200).json(run)
          : problem(404, "test_session_not_found", `No test session ${params.session_id}`);
      }),
    ),
    http.get("/v1/test-sessions/{session_id}/log", ({ params, query }) =>
      guarded(sandbox, params, () => {
        const stream = sandbox.testSessions.logStream(params.session_id, query.get("follow") === "true");
        if (!stream) return problem(404, "test_session_not_found", `No test session ${params.session_id}`);
        return new HttpResponse(stream, { headers: { "content-type": "text/plain; charset=utf-8" } });
      }),
    ),
    http.get("/v1/goldens", ({ response }) => guarded(sandbox, {}, () => response(200).json(sandbox.listGoldens()))),
    http.get("/v1/goldens/{project_id}", ({ params, response }) =>
      guarded(sandbox, params, () => response(200).json(sandbox.getGolden(params.project_id))),
    ),
    http.delete("/v1/goldens/{project_id}", ({ params, response }) =>
      guarded(sandbox, params, () => {
        sandbox.deleteGolden(params.project_id);
        return response(204).empty();
      }),
    ),
    http.get("/v1/goldens/{project_id}/replication", ({ params, response }) =>
      guarded(sandbox, params, () => {
        const replication = sandbox.replications.get(params.project_id);
        return replication
          ? response(200).json(replication)
          : problem(404, "replication_not_found", `No replication of ${params.project_id}`);
      }),
    ),
    http.post("/v1/goldens/{project_id}/replication", async ({ params, request, response }) => {
      const body = await request.json();
      return guarded(sandbox, params, () => {
        const started = sandbox.replications.start(params.project_id, validStart("startReplication", body));
        return started.already ? response(200).json(started.replication) : response(202).json(started.replication);
      });
    }),
    // An event stream is not one JSON body, so this route is typed by hand.
    http.untyped.get(`${baseUrl}/v1/events`, ({ request }) => {
      if (!sandbox.online) return HttpResponse.error();
      return new HttpResponse(eventStream(sandbox, request), {
        headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
      });
    }),
  ];
}

function eventStream(sandbox: MockSandbox, request: Request): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const frame = ({ id, event }: SequencedEvent) =>
    encoder.encode(`id: ${id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  let unsubscribe = () => {};
  let stopRestarts = () => {};
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const lastEventId = request.headers.get("last-event-id");
      if (lastEventId) {
        const missed = sandbox.eventsSince(Number(lastEventId));
        if (missed === null) controller.enqueue(encoder.encode('event: sync\ndata: {"type":"sync"}\n\n'));
        else for (const event of missed) controller.enqueue(frame(event));
      }
      // An open stream starts with a comment, so the client knows it is connected.
      controller.enqueue(encoder.encode(": connected\n\n"));
      unsubscribe = sandbox.subscribe((event) => {
        try {
          controller.enqueue(frame(event));
        } catch {
          unsubscribe();
        }
      });
      const end = () => {
        unsubscribe();
        stopRestarts();
        try {
          controller.close();
        } catch {
          // Already closed.
        }
      };
      stopRestarts = sandbox.onRestart(end);
      request.signal.addEventListener("abort", end);
    },
    cancel() {
      unsubscribe();
      stopRestarts();
    },
  });
}
