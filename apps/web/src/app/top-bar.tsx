// Who is logged in, and the way out.
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Typography from "@mui/material/Typography";
import { useSession } from "../api/auth/get-session.ts";
import { useLogOut } from "../api/auth/log-out.ts";
import { hasUnsavedChanges } from "../lib/unsaved-changes.ts";

export function TopBar() {
  const session = useSession();
  const logOut = useLogOut();
  if (!session.data) return null;
  return (
    <Box
      component="nav"
      aria-label="Account"
      sx={{ display: "flex", justifyContent: "flex-end", alignItems: "center", gap: 1.5, px: 3, pt: 2 }}
    >
      <Typography variant="body2" color="text.secondary">
        Logged in as <strong>{session.data.name}</strong>
      </Typography>
      <Button
        size="small"
        onClick={() => {
          if (
            hasUnsavedChanges() &&
            !window.confirm("The startup script has unsaved changes. Log out and lose them?")
          ) {
            return;
          }
          logOut.mutate();
        }}
        disabled={logOut.isPending}
      >
        Log out
      </Button>
    </Box>
  );
}
