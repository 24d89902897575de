import { apiClient } from "../../../lib/api-client.ts";
import { readStream } from "../../../lib/read-stream.ts";

/**
 * A test session's output from its first byte; with `follow`, new output keeps arriving until
 * the session ends. Each chunk is handed to `onChunk` as it arrives.
 */
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
