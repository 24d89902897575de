// Keeps the cached project current with the BFF's event stream, so the page follows builds,
// merges and other browsers' changes without reloading. The browser's EventSource reconnects
// by itself; the first event after a (re)connect is the whole project as it is now.
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { getSandboxStatusQueryOptions, type SandboxStatus } from "../sandbox/get-sandbox-status.ts";
import { acceptProject, type Project } from "./get-project.ts";
import { getProjectSandboxesQueryOptions, type ProjectSandboxList } from "./get-project-sandboxes.ts";

type EventStreamStatus = "connecting" | "open" | "reconnecting";

export function useProjectEvents(projectId: string): EventStreamStatus {
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<EventStreamStatus>("connecting");
  useEffect(() => {
    if (typeof EventSource === "undefined") return;
    const source = new EventSource(`/api/v1/projects/${encodeURIComponent(projectId)}/events`);
    source.addEventListener("open", () => setStatus("open"));
    source.addEventListener("error", () => setStatus("reconnecting"));
    source.addEventListener("project", (event) => {
      const project = JSON.parse((event as MessageEvent<string>).data) as Project;
      acceptProject(queryClient, project);
    });
    source.addEventListener("sandboxes", (event) => {
      const list = JSON.parse((event as MessageEvent<string>).data) as ProjectSandboxList;
      queryClient.setQueryData(getProjectSandboxesQueryOptions(projectId).queryKey, list);
    });
    source.addEventListener("sandbox", (event) => {
      const status = JSON.parse((event as MessageEvent<string>).data) as SandboxStatus;
      queryClient.setQueryData(getSandboxStatusQueryOptions().queryKey, status);
    });
    return () => source.close();
  }, [projectId, queryClient]);
  return status;
}
