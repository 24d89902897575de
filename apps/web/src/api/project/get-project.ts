import type { components } from "@prewarm/api-types/bff";
import { type QueryClient, queryOptions, useQuery } from "@tanstack/react-query";
import { apiClient } from "../../lib/api-client.ts";
import { unwrap } from "../../lib/unwrap.ts";

export type Project = components["schemas"]["Project"];
export type DockerCacheState = components["schemas"]["DockerCacheState"];

export async function getProject(projectId: string): Promise<Project> {
  return unwrap(
    await apiClient.GET("/api/v1/projects/{project_id}", {
      params: { path: { project_id: projectId } },
    }),
  );
}

export function getProjectQueryOptions(projectId: string) {
  return queryOptions({ queryKey: ["projects", projectId], queryFn: () => getProject(projectId) });
}

export function useProject(projectId: string) {
  return useQuery(getProjectQueryOptions(projectId));
}

/**
 * Puts a project into the cache unless the cache already holds a newer one: a mutation's answer
 * can arrive after the event stream has told of a later change, and must not undo it.
 */
export function acceptProject(queryClient: QueryClient, project: Project): void {
  queryClient.setQueryData(getProjectQueryOptions(project.id).queryKey, (cached) =>
    cached && cached.revision > project.revision ? cached : project,
  );
}
