import { apiClient } from "../../../lib/api-client.ts";
import { unwrap } from "../../../lib/unwrap.ts";
import { useProjectAction } from "./project-action.ts";

export const stopBuild = async (projectId: string) =>
  unwrap(
    await apiClient.POST("/api/v1/projects/{project_id}/docker-cache/stop", {
      params: { path: { project_id: projectId } },
    }),
  );

export const useStopBuild = (projectId: string) => useProjectAction(projectId, stopBuild);
