import type { components } from "@prewarm/api-types/bff";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { apiClient } from "../../lib/api-client.ts";
import { unwrap } from "../../lib/unwrap.ts";
import { getSessionQueryOptions } from "./get-session.ts";

type LoginRequest = components["schemas"]["LoginRequest"];

/** Logs in with a name and password, or with a login link's token; answers with the user. */
export async function logIn(body: LoginRequest) {
  return unwrap(await apiClient.POST("/api/v1/auth/login", { body })).user;
}

export function useLogIn() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: LoginRequest) => logIn(body),
    onSuccess: (user) => {
      const session = getSessionQueryOptions().queryKey;
      // Whatever was loaded as someone else (or as nobody) is not this user's to see.
      queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== session[0] });
      queryClient.setQueryData(session, user);
    },
  });
}
