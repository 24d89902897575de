import type { components } from "@prewarm/api-types/bff";
import { queryOptions, useQuery } from "@tanstack/react-query";
import { apiClient } from "../../../lib/api-client.ts";
import { unwrap } from "../../../lib/unwrap.ts";

export type ScriptVersion = components["schemas"]["ScriptVersion"];

/** Earlier saved scripts, newest first. */
export async function listScriptVersions(projectId: string): Promise<ScriptVersion[]> {
  return unwrap(
    await apiClient.GET("/api/v1/projects/{project_id}/startup-script/versions", {
      params: { path: { project_id: projectId } },
    }),
  ).versions;
}

/** `revision` is in the key so that the versions reload after the project changes. */
export function listScriptVersionsQueryOptions(projectId: string, revision: number) {
  return queryOptions({
    queryKey: ["projects", projectId, "script-versions", revision],
    queryFn: () => listScriptVersions(projectId),
  });
}

export function useScriptVersions(projectId: string, revision: number) {
  return useQuery(listScriptVersionsQueryOptions(projectId, revision));
}
