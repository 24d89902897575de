import { apiClient } from "../../../lib/api-client.ts";
import { readStream } from "../../../lib/read-stream.ts";

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
  const answer = await apiClient.GET("/api/v1/projects/{project_id}/docker-cache/builds/{build_id}/log", {
    params: {
      path: { project_id: options.projectId, build_id: options.buildId },
      query: { follow: options.follow },
    },
    parseAs: "stream",
    signal: options.signal,
  });
  await readStream(answer, options.onChunk);
}
