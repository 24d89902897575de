import type { components } from "@prewarm/api-types/bff";
import { useQuery } from "@tanstack/react-query";
import { apiClient } from "../../../lib/api-client.ts";
import { unwrap } from "../../../lib/unwrap.ts";

export type ScriptVersion = components["schemas"]["ScriptVersion"];

/** Earlier saved scripts, newest first; `revision` reloads them after the project changes. */
export function useScriptVersions(projectId: string, revision: number) {
  return useQuery({
    queryKey: ["projects", projectId, "script-versions", revision],
    queryFn: async (): Promise<ScriptVersion[]> => {
      return unwrap(
        await apiClient.GET("/api/v1/projects/{project_id}/startup-script/versions", {
          params: { path: { project_id: projectId } },
        }),
      ).versions;
    },
  });
}
