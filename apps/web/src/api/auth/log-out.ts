import { useMutation, useQueryClient } from "@tanstack/react-query";
import { apiClient } from "../../lib/api-client.ts";
import { unwrap } from "../../lib/unwrap.ts";
import { getSessionQueryOptions } from "./get-session.ts";

export async function logOut(): Promise<void> {
  unwrap(await apiClient.POST("/api/v1/auth/logout"));
}

export function useLogOut() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => logOut(),
    onSuccess: () => {
      const session = getSessionQueryOptions().queryKey;
      queryClient.setQueryData(session, null);
      // Nothing loaded for them stays behind for the next person at this browser.
      queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== session[0] });
    },
  });
}
