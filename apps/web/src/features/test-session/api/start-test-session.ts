// [Test]: starts a test session running the editor's script, saved or not.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { apiClient } from "../../../lib/api-client.ts";
import { unwrap } from "../../../lib/unwrap.ts";
import { getTestSessionQueryOptions, type TestSession } from "./get-test-session.ts";

export async function startTestSession(projectId: string, startupScript: string): Promise<TestSession> {
  return unwrap(
    await apiClient.POST("/api/v1/projects/{project_id}/test-sessions", {
      params: { path: { project_id: projectId } },
      body: { startup_script: startupScript },
    }),
  );
}

export function useStartTestSession(projectId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (startupScript: string) => startTestSession(projectId, startupScript),
    // The answer is the session as it starts: the viewer shows it without asking again.
    onSuccess: (session) =>
      queryClient.setQueryData(getTestSessionQueryOptions(projectId, session.session_id).queryKey, session),
  });
}
