import { apiClient } from "../../../lib/api-client.ts";
import { projectOrThrow, useProjectAction } from "./project-action.ts";

export const stopBuild = (projectId: string) =>
  projectOrThrow(
    apiClient.POST("/api/v1/projects/{project_id}/docker-cache/stop", { params: { path: { project_id: projectId } } }),
  );

export const useStopBuild = (projectId: string) => useProjectAction(projectId, stopBuild);
