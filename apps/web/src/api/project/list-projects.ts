import { queryOptions, useQuery } from "@tanstack/react-query";
import { apiClient } from "../../lib/api-client.ts";
import { toApiError } from "../../lib/problem.ts";
import type { Project } from "./get-project.ts";

export async function listProjects(): Promise<Project[]> {
  const { data, error, response } = await apiClient.GET("/api/v1/projects");
  if (!data) throw toApiError(error, response);
  return data.projects;
}

export function listProjectsQueryOptions() {
  return queryOptions({ queryKey: ["projects"], queryFn: listProjects });
}

export function useProjects() {
  return useQuery(listProjectsQueryOptions());
}
