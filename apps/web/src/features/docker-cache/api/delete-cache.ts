import { useMutation, useQueryClient } from "@tanstack/react-query";
import { acceptProject, getProjectQueryOptions, type Project } from "../../../api/project/get-project.ts";
import { apiClient } from "../../../lib/api-client.ts";
import { toApiError } from "../../../lib/problem.ts";

export async function deleteCache(projectId: string): Promise<Project> {
  const { data, error, response } = await apiClient.DELETE("/api/v1/projects/{project_id}/docker-cache", {
    params: { path: { project_id: projectId } },
  });
  if (!data) throw toApiError(error, response);
  return data;
}

export function useDeleteCache(projectId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => deleteCache(projectId),
    onSuccess: (project) => acceptProject(queryClient, project),
    onError: () => queryClient.invalidateQueries({ queryKey: getProjectQueryOptions(projectId).queryKey }),
  });
}
