import { apiClient } from "../../../lib/api-client.ts";
import { projectOrThrow, useProjectAction } from "./project-action.ts";

export const deleteCache = (projectId: string) =>
  projectOrThrow(
    apiClient.DELETE("/api/v1/projects/{project_id}/docker-cache", { params: { path: { project_id: projectId } } }),
  );

export const useDeleteCache = (projectId: string) => useProjectAction(projectId, deleteCache);
