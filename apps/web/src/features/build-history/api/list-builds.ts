import type { components } from "@prewarm/api-types/bff";
import { keepPreviousData, queryOptions, useQuery } from "@tanstack/react-query";
import type { DockerCacheState } from "../../../api/project/get-project.ts";
import { apiClient } from "../../../lib/api-client.ts";
import { unwrap } from "../../../lib/unwrap.ts";

export type Build = components["schemas"]["Build"];

/** The project's recent builds, newest first. */
export async function listBuilds(projectId: string): Promise<Build[]> {
  return unwrap(
    await apiClient.GET("/api/v1/projects/{project_id}/docker-cache/builds", {
      params: { path: { project_id: projectId } },
    }),
  ).builds;
}

/**
 * The key follows the cache state's current build and status, so the list reloads exactly when
 * a build starts or ends.
 */
export function listBuildsQueryOptions(projectId: string, state: DockerCacheState) {
  return queryOptions({
    queryKey: ["projects", projectId, "builds", state.build_id, state.status],
    queryFn: () => listBuilds(projectId),
  });
}

export function useBuilds(projectId: string, state: DockerCacheState) {
  // The list stays on screen while the next one loads.
  return useQuery({ ...listBuildsQueryOptions(projectId, state), placeholderData: keepPreviousData });
}
