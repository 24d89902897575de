import { QueryClient } from "@tanstack/react-query";
import { expect, it } from "vitest";
import { seedProject } from "../../testing/mocks/bff.ts";
import { acceptProject, getProjectQueryOptions } from "./get-project.ts";

it("keeps the newer of two copies of a project, whichever arrives last", () => {
  const queryClient = new QueryClient();
  const building = { ...seedProject({ status: "building" }), revision: 7 };
  const failed = { ...seedProject({ status: "failed", error: "exit 2" }), revision: 8 };
  const key = getProjectQueryOptions("shop").queryKey;

  acceptProject(queryClient, failed);
  // A mutation's answer, older than what the event stream already told.
  acceptProject(queryClient, building);
  expect(queryClient.getQueryData(key)?.metadata.docker_cache_state.status).toBe("failed");

  acceptProject(queryClient, { ...building, revision: 9 });
  expect(queryClient.getQueryData(key)?.metadata.docker_cache_state.status).toBe("building");
});
