import { apiClient } from "../../../lib/api-client.ts";
import { projectOrThrow, useProjectAction } from "./project-action.ts";

export const resumeBuilds = (projectId: string) =>
  projectOrThrow(
    apiClient.POST("/api/v1/projects/{project_id}/docker-cache/resume", {
      params: { path: { project_id: projectId } },
    }),
  );

export const useResumeBuilds = (projectId: string) => useProjectAction(projectId, resumeBuilds);
