// Every page but the login page is for someone logged in: without a session the person is sent
// to log in, and comes back to the page they wanted afterwards.
import Box from "@mui/material/Box";
import CircularProgress from "@mui/material/CircularProgress";
import { useQueryClient } from "@tanstack/react-query";
import { type ReactNode, useEffect } from "react";
import { Redirect, useLocation } from "wouter";
import { getSessionQueryOptions, useSession } from "../api/auth/get-session.ts";
import { onUnauthenticated } from "../lib/api-client.ts";

export function AuthGate({ children }: { children: ReactNode }) {
  const session = useSession();
  const queryClient = useQueryClient();
  const [location] = useLocation();

  useEffect(
    () => onUnauthenticated(() => queryClient.setQueryData(getSessionQueryOptions().queryKey, null)),
    [queryClient],
  );

  if (session.isPending) {
    return (
      <Box sx={{ display: "grid", placeItems: "center", minHeight: "50vh" }}>
        <CircularProgress aria-label="Loading" />
      </Box>
    );
  }
  if (!session.data) {
    return <Redirect to={`/login?next=${encodeURIComponent(location)}`} replace />;
  }
  return children;
}
