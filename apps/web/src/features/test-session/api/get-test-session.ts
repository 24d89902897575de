// A test session as the sandbox reports it: preparing its Docker data, running the startup script,
// or ended. Polled while active, since nothing else tells the page how it is going.
import type { components } from "@prewarm/api-types/bff";
import { queryOptions, useQuery } from "@tanstack/react-query";
import { apiClient } from "../../../lib/api-client.ts";
import { unwrap } from "../../../lib/unwrap.ts";

export type TestSession = components["schemas"]["TestSession"];

const active = new Set<TestSession["status"]>(["preparing", "running"]);

export function isActive(session: TestSession | undefined): boolean {
  return session !== undefined && active.has(session.status);
}

export async function getTestSession(projectId: string, sessionId: string): Promise<TestSession> {
  return unwrap(
    await apiClient.GET("/api/v1/projects/{project_id}/test-sessions/{session_id}", {
      params: { path: { project_id: projectId, session_id: sessionId } },
    }),
  );
}

/** The session, polled twice a second while its Docker data is prepared and its script runs. */
export function getTestSessionQueryOptions(projectId: string, sessionId: string) {
  return queryOptions({
    queryKey: ["projects", projectId, "test-sessions", sessionId],
    queryFn: () => getTestSession(projectId, sessionId),
    refetchInterval: (query) => (isActive(query.state.data) ? 500 : false),
  });
}

export function useTestSession(projectId: string, sessionId: string) {
  return useQuery(getTestSessionQueryOptions(projectId, sessionId));
}
