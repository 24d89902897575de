import { useMutation, useQueryClient } from "@tanstack/react-query";
import { apiClient } from "../../../lib/api-client.ts";
import { unwrap } from "../../../lib/unwrap.ts";
import { getTestSessionQueryOptions, type TestSession } from "./get-test-session.ts";

export async function stopTestSession(projectId: string, sessionId: string): Promise<TestSession> {
  return unwrap(
    await apiClient.POST("/api/v1/projects/{project_id}/test-sessions/{session_id}/stop", {
      params: { path: { project_id: projectId, session_id: sessionId } },
    }),
  );
}

export function useStopTestSession(projectId: string, sessionId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => stopTestSession(projectId, sessionId),
    onSuccess: (session) =>
      queryClient.setQueryData(getTestSessionQueryOptions(projectId, sessionId).queryKey, session),
  });
}
