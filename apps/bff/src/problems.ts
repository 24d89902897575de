// The problems the BFF answers about its own resources, each worded once. What the sandbox
// refuses keeps its own code (sandbox/sandbox-client.ts); malformed requests are refused before
// any handler runs (service-kit's request-body.ts).
import { ProblemError } from "@prewarm/service-kit/problem";

/** Also the answer to a project the caller may not see: its existence is never leaked. */
export function projectNotFound(projectId: string): ProblemError {
  return new ProblemError(404, "project_not_found", `No project ${projectId}`);
}

export function buildNotFound(projectId: string, buildId: string): ProblemError {
  return new ProblemError(404, "build_not_found", `No build ${buildId} for project ${projectId}`);
}

export function testSessionNotFound(sessionId: string): ProblemError {
  return new ProblemError(404, "test_session_not_found", `No test session ${sessionId} for this project`);
}

/** Turning the cache on, building and testing all run the startup script. */
export function startupScriptRequired(): ProblemError {
  return new ProblemError(
    422,
    "startup_script_required",
    "Add a startup script first — builds and test sessions run it.",
  );
}

export function ownerOnly(): ProblemError {
  return new ProblemError(
    403,
    "owner_only",
    "Only the project's owner can change it; as a member you can see its status and logs.",
  );
}
