// One build as the BFF records it, for the viewer's header: which Docker engine ran it.
import type { components } from "@prewarm/api-types/bff";
import { queryOptions, useQuery } from "@tanstack/react-query";
import { apiClient } from "../../../lib/api-client.ts";
import { unwrap } from "../../../lib/unwrap.ts";

export type Build = components["schemas"]["Build"];

export async function getBuild(projectId: string, buildId: string): Promise<Build> {
  return unwrap(
    await apiClient.GET("/api/v1/projects/{project_id}/docker-cache/builds/{build_id}", {
      params: { path: { project_id: projectId, build_id: buildId } },
    }),
  );
}

/**
 * Read again when the build ends (`live` is in the key); while it runs, every few seconds until
 * its daemon is up, which is when the engine is known.
 */
export function getBuildQueryOptions(projectId: string, buildId: string, live: boolean) {
  return queryOptions({
    queryKey: ["projects", projectId, "build", buildId, live],
    queryFn: () => getBuild(projectId, buildId),
    refetchInterval: (query) => (live && query.state.data?.docker_engine === null ? 5_000 : false),
  });
}

export function useBuild(projectId: string, buildId: string, live: boolean) {
  return useQuery(getBuildQueryOptions(projectId, buildId, live));
}
