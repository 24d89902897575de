// Who is using the app. The session lives in an HttpOnly cookie the page cannot read; asking
// /me is how the page learns whether it is logged in, and as whom.
import type { components } from "@prewarm/api-types/bff";
import { queryOptions, useQuery } from "@tanstack/react-query";
import { apiClient } from "../../lib/api-client.ts";
import { unwrap } from "../../lib/unwrap.ts";

type User = components["schemas"]["User"];

/** The user logged in, or null when nobody is. */
export async function getSession(): Promise<User | null> {
  const answer = await apiClient.GET("/api/v1/me");
  // Not logged in is an answer here, not a failure.
  if (answer.response.status === 401) return null;
  return unwrap(answer).user;
}

export function getSessionQueryOptions() {
  return queryOptions({ queryKey: ["session"], queryFn: getSession, staleTime: Number.POSITIVE_INFINITY });
}

export function useSession() {
  return useQuery(getSessionQueryOptions());
}
