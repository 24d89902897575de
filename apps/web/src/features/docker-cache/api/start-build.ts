import type { components } from "@prewarm/api-types/bff";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { acceptProject, getProjectQueryOptions } from "../../../api/project/get-project.ts";
import { apiClient } from "../../../lib/api-client.ts";
import { unwrap } from "../../../lib/unwrap.ts";

type StartBuildResponse = components["schemas"]["StartBuildResponse"];

export async function startBuild(projectId: string, trigger: "retry" | "manual"): Promise<StartBuildResponse> {
  return unwrap(
    await apiClient.POST("/api/v1/projects/{project_id}/docker-cache/builds", {
      params: { path: { project_id: projectId } },
      body: { trigger },
    }),
  );
}

export function useStartBuild(projectId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (trigger: "retry" | "manual") => startBuild(projectId, trigger),
    onSuccess: (result) => acceptProject(queryClient, result.project),
    onError: () => queryClient.invalidateQueries({ queryKey: getProjectQueryOptions(projectId).queryKey }),
  });
}
