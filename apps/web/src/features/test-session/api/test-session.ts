// [Test] sessions: start one with the editor's script, follow it until it ends, stop it.
import type { components } from "@prewarm/api-types/bff";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { apiClient } from "../../../lib/api-client.ts";
import { readStream } from "../../../lib/read-stream.ts";
import { unwrap } from "../../../lib/unwrap.ts";

export type TestSession = components["schemas"]["TestSession"];

const active = new Set<TestSession["status"]>(["preparing", "running"]);

export function isActive(session: TestSession | undefined): boolean {
  return session !== undefined && active.has(session.status);
}

function sessionKey(projectId: string, sessionId: string) {
  return ["projects", projectId, "test-sessions", sessionId] as const;
}

export function useStartTestSession(projectId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (startupScript: string) => {
      return unwrap(
        await apiClient.POST("/api/v1/projects/{project_id}/test-sessions", {
          params: { path: { project_id: projectId } },
          body: { startup_script: startupScript },
        }),
      );
    },
    onSuccess: (session) => queryClient.setQueryData(sessionKey(projectId, session.session_id), session),
  });
}

/** The session, polled twice a second while its Docker data is prepared and its script runs. */
export function useTestSession(projectId: string, sessionId: string) {
  return useQuery({
    queryKey: sessionKey(projectId, sessionId),
    queryFn: async (): Promise<TestSession> => {
      return unwrap(
        await apiClient.GET("/api/v1/projects/{project_id}/test-sessions/{session_id}", {
          params: { path: { project_id: projectId, session_id: sessionId } },
        }),
      );
    },
    refetchInterval: (query) => (isActive(query.state.data) ? 500 : false),
  });
}

export function useStopTestSession(projectId: string, sessionId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async () => {
      return unwrap(
        await apiClient.POST("/api/v1/projects/{project_id}/test-sessions/{session_id}/stop", {
          params: { path: { project_id: projectId, session_id: sessionId } },
        }),
      );
    },
    onSuccess: (session) => queryClient.setQueryData(sessionKey(projectId, sessionId), session),
  });
}

export async function streamTestSessionLog(options: {
  projectId: string;
  sessionId: string;
  follow: boolean;
  signal: AbortSignal;
  onChunk: (bytes: Uint8Array) => void;
}): Promise<void> {
  const answer = await apiClient.GET("/api/v1/projects/{project_id}/test-sessions/{session_id}/log", {
    params: {
      path: { project_id: options.projectId, session_id: options.sessionId },
      query: { follow: options.follow },
    },
    parseAs: "stream",
    signal: options.signal,
  });
  await readStream(answer, options.onChunk);
}
