import type { components } from "@prewarm/api-types/bff";
import { queryOptions, useQuery } from "@tanstack/react-query";
import { apiClient } from "../../lib/api-client.ts";
import { unwrap } from "../../lib/unwrap.ts";

type Member = components["schemas"]["Member"];

export async function listMembers(projectId: string): Promise<Member[]> {
  return unwrap(
    await apiClient.GET("/api/v1/projects/{project_id}/members", {
      params: { path: { project_id: projectId } },
    }),
  ).members;
}

export function listMembersQueryOptions(projectId: string) {
  return queryOptions({ queryKey: ["projects", projectId, "members"], queryFn: () => listMembers(projectId) });
}

export function useProjectMembers(projectId: string) {
  return useQuery(listMembersQueryOptions(projectId));
}
