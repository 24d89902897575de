import { apiClient } from "../../../lib/api-client.ts";
import { toApiError } from "../../../lib/problem.ts";

/**
 * A build's output from its first byte; with `follow`, new output keeps arriving until the
 * build ends. Each chunk is handed to `onChunk` as it arrives.
 */
export async function streamBuildLog(options: {
  projectId: string;
  buildId: string;
  follow: boolean;
  signal: AbortSignal;
  onChunk: (bytes: Uint8Array) => void;
}): Promise<void> {
  const { response, error } = await apiClient.GET("/api/v1/projects/{project_id}/docker-cache/builds/{build_id}/log", {
    params: {
      path: { project_id: options.projectId, build_id: options.buildId },
      query: { follow: options.follow },
    },
    parseAs: "stream",
    signal: options.signal,
  });
  if (!response.ok || !response.body) throw toApiError(error, response);
  const reader = response.body.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    options.onChunk(value);
  }
}
