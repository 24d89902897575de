// Logging in: a name and password, or a one-time login link (`/login#token=...`) as printed by
// the first start or the admin command, which logs in by itself. The token stays in the URL's
// fragment, which browsers never send to a server, and is removed from the address bar at once.
import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import CircularProgress from "@mui/material/CircularProgress";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import Typography from "@mui/material/Typography";
import { type FormEvent, useEffect, useRef, useState } from "react";
import { Redirect, useSearch } from "wouter";
import { useSession } from "../../api/auth/get-session.ts";
import { useLogIn } from "../../api/auth/log-in.ts";
import { LabeledInput } from "../../components/labeled-input.tsx";

/** Where to go after logging in: only a path of this app, never another site. */
function safeNext(search: string): string {
  const next = new URLSearchParams(search).get("next");
  return next?.startsWith("/") && !next.startsWith("//") && !next.startsWith("/login") ? next : "/";
}

export default function LoginRoute() {
  const session = useSession();
  const logIn = useLogIn();
  const next = safeNext(useSearch());
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const linkTried = useRef(false);

  useEffect(() => {
    if (linkTried.current) return;
    const token = new URLSearchParams(globalThis.location?.hash.slice(1) ?? "").get("token");
    if (!token) return;
    linkTried.current = true;
    history.replaceState(null, "", `${location.pathname}${location.search}`);
    logIn.mutate({ login_token: token });
  }, [logIn]);

  if (session.data) return <Redirect to={next} replace />;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    logIn.mutate({ username: username.trim(), password });
  };

  return (
    <Box component="main" sx={{ display: "grid", placeItems: "center", minHeight: "80vh", px: 2 }}>
      <Paper variant="outlined" sx={{ p: 4, width: "100%", maxWidth: 400 }}>
        <Typography variant="overline" color="text.secondary">
          Pre-warm Docker cache
        </Typography>
        <Typography variant="h1" sx={{ fontSize: 28, mb: 3 }}>
          Log in
        </Typography>
        <Stack component="form" spacing={2} onSubmit={submit} noValidate aria-label="Log in">
          {logIn.isError && (
            <Alert severity="error" role="alert">
              {logIn.error.message}
            </Alert>
          )}
          <LabeledInput
            label="User name"
            autoComplete="username"
            value={username}
            onChange={(event) => setUsername(event.target.value)}
            required
            autoFocus
          />
          <LabeledInput
            label="Password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(event) => setPassword(event.target.value)}
            required
          />
          <Button
            type="submit"
            variant="contained"
            disabled={logIn.isPending || username.trim() === "" || password === ""}
            startIcon={logIn.isPending ? <CircularProgress size={16} color="inherit" /> : undefined}
          >
            Log in
          </Button>
          <Typography variant="body2" color="text.secondary">
            No password yet? Ask an operator for a login link: <code>npm run admin -- login-link &lt;name&gt;</code>
          </Typography>
        </Stack>
      </Paper>
    </Box>
  );
}
