import type { components } from "@prewarm/api-types/bff";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { apiClient } from "../../lib/api-client.ts";
import { toApiError } from "../../lib/problem.ts";
import { acceptProject } from "./get-project.ts";

export type UpdateProjectRequest = components["schemas"]["UpdateProjectRequest"];
export type UpdateProjectResponse = components["schemas"]["UpdateProjectResponse"];

export async function updateProject(projectId: string, body: UpdateProjectRequest): Promise<UpdateProjectResponse> {
  const { data, error, response } = await apiClient.PATCH("/api/v1/projects/{project_id}", {
    params: { path: { project_id: projectId } },
    body,
  });
  if (!data) throw toApiError(error, response);
  return data;
}

export function useUpdateProject(projectId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: UpdateProjectRequest) => updateProject(projectId, body),
    onSuccess: (result) => acceptProject(queryClient, result.project),
  });
}
