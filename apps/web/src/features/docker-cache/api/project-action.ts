// An action on a project whose answer is the project after it: the answer goes into the cache
// (unless the event stream brought a newer one), and a failure reloads the project.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { acceptProject, getProjectQueryOptions, type Project } from "../../../api/project/get-project.ts";

export function useProjectAction(projectId: string, act: (projectId: string) => Promise<Project>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => act(projectId),
    onSuccess: (project) => acceptProject(queryClient, project),
    onError: () => queryClient.invalidateQueries({ queryKey: getProjectQueryOptions(projectId).queryKey }),
  });
}
