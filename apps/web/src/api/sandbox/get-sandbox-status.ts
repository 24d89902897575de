// Whether the BFF can reach the sandbox. Read once, then kept current by the project's event
// stream (`event: sandbox`), so the banner comes and goes by itself.
import type { components } from "@prewarm/api-types/bff";
import { queryOptions, useQuery } from "@tanstack/react-query";
import { apiClient } from "../../lib/api-client.ts";
import { unwrap } from "../../lib/unwrap.ts";

export type SandboxStatus = components["schemas"]["SandboxStatus"];

export async function getSandboxStatus(): Promise<SandboxStatus> {
  return unwrap(await apiClient.GET("/api/v1/sandbox"));
}

export function getSandboxStatusQueryOptions() {
  return queryOptions({ queryKey: ["sandbox"], queryFn: getSandboxStatus });
}

export function useSandboxStatus() {
  return useQuery(getSandboxStatusQueryOptions());
}

/** Why actions that need the sandbox are unavailable now, or null when they are available. */
export function useSandboxUnavailable(): string | null {
  const status = useSandboxStatus();
  return status.data && !status.data.reachable
    ? "The sandbox cannot be reached, so builds cannot start, stop or be deleted until it is back."
    : null;
}
