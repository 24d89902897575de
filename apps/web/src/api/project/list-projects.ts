import { queryOptions, useQuery } from "@tanstack/react-query";
import { apiClient } from "../../lib/api-client.ts";
import { unwrap } from "../../lib/unwrap.ts";
import type { Project } from "./get-project.ts";

export async function listProjects(): Promise<Project[]> {
  return unwrap(await apiClient.GET("/api/v1/projects")).projects;
}

export function listProjectsQueryOptions() {
  return queryOptions({ queryKey: ["projects"], queryFn: listProjects });
}

export function useProjects() {
  return useQuery(listProjectsQueryOptions());
}
