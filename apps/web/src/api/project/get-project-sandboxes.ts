// The project's cache on each sandbox host. Read once, then kept current by the project's event
// stream (`event: sandboxes`), so replications and unreachable hosts show as they happen.
import type { components } from "@prewarm/api-types/bff";
import { queryOptions, useQuery } from "@tanstack/react-query";
import { apiClient } from "../../lib/api-client.ts";
import { unwrap } from "../../lib/unwrap.ts";

export type ProjectSandbox = components["schemas"]["ProjectSandbox"];
export type ProjectSandboxList = components["schemas"]["ProjectSandboxList"];

export function getProjectSandboxesQueryOptions(projectId: string) {
  return queryOptions({
    queryKey: ["projects", projectId, "sandboxes"],
    queryFn: async () =>
      unwrap(
        await apiClient.GET("/api/v1/projects/{project_id}/docker-cache/sandboxes", {
          params: { path: { project_id: projectId } },
        }),
      ),
  });
}

export function useProjectSandboxes(projectId: string) {
  return useQuery(getProjectSandboxesQueryOptions(projectId));
}
