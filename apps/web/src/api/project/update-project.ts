import type { components } from "@prewarm/api-types/bff";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { apiClient } from "../../lib/api-client.ts";
import { unwrap } from "../../lib/unwrap.ts";
import { acceptProject } from "./get-project.ts";

type UpdateProjectRequest = components["schemas"]["UpdateProjectRequest"];
type UpdateProjectResponse = components["schemas"]["UpdateProjectResponse"];

export async function updateProject(projectId: string, body: UpdateProjectRequest): Promise<UpdateProjectResponse> {
  return unwrap(
    await apiClient.PATCH("/api/v1/projects/{project_id}", {
      params: { path: { project_id: projectId } },
      body,
    }),
  );
}

export function useUpdateProject(projectId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: UpdateProjectRequest) => updateProject(projectId, body),
    onSuccess: (result) => acceptProject(queryClient, result.project),
  });
}
