// Who is using the app. The session lives in an HttpOnly cookie the page cannot read; asking
// /me is how the page learns whether it is logged in, and as whom.
import type { components } from "@prewarm/api-types/bff";
import { queryOptions, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { apiClient } from "../../lib/api-client.ts";
import { unwrap } from "../../lib/unwrap.ts";

export type User = components["schemas"]["User"];
export type LoginRequest = components["schemas"]["LoginRequest"];

export const sessionQueryOptions = queryOptions({
  queryKey: ["session"],
  queryFn: async (): Promise<User | null> => {
    const answer = await apiClient.GET("/api/v1/me");
    // Not logged in is an answer here, not a failure.
    if (answer.response.status === 401) return null;
    return unwrap(answer).user;
  },
  staleTime: Number.POSITIVE_INFINITY,
});

export function useSession() {
  return useQuery(sessionQueryOptions);
}

export function useLogIn() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: LoginRequest) => {
      return unwrap(await apiClient.POST("/api/v1/auth/login", { body })).user;
    },
    onSuccess: (user) => {
      // Whatever was loaded as someone else (or as nobody) is not this user's to see.
      queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== "session" });
      queryClient.setQueryData(sessionQueryOptions.queryKey, user);
    },
  });
}

export function useLogOut() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async () => {
      unwrap(await apiClient.POST("/api/v1/auth/logout"));
    },
    onSuccess: () => {
      queryClient.setQueryData(sessionQueryOptions.queryKey, null);
      // Nothing loaded for them stays behind for the next person at this browser.
      queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== "session" });
    },
  });
}
