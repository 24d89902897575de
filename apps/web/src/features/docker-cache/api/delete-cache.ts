import { apiClient } from "../../../lib/api-client.ts";
import { unwrap } from "../../../lib/unwrap.ts";
import { useProjectAction } from "./project-action.ts";

export const deleteCache = async (projectId: string) =>
  unwrap(
    await apiClient.DELETE("/api/v1/projects/{project_id}/docker-cache", {
      params: { path: { project_id: projectId } },
    }),
  );

export const useDeleteCache = (projectId: string) => useProjectAction(projectId, deleteCache);
