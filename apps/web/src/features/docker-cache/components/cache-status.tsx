// The status row of the Docker cache, exactly as the product's status table has it, with the
// actions each state offers. A rebuild or a failure never hides a golden that still serves
// sessions: it is shown alongside.
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Dialog from "@mui/material/Dialog";
import DialogActions from "@mui/material/DialogActions";
import DialogContent from "@mui/material/DialogContent";
import DialogContentText from "@mui/material/DialogContentText";
import DialogTitle from "@mui/material/DialogTitle";
import Stack from "@mui/material/Stack";
import Typography from "@mui/material/Typography";
import { useState } from "react";
import type { DockerCacheState } from "../../../api/project/get-project.ts";
import { formatAge, formatAgo, formatSize } from "../../../lib/format.ts";
import { useNow } from "../../../lib/use-now.ts";
import { useDeleteCache } from "../api/delete-cache.ts";
import { useStartBuild } from "../api/start-build.ts";
import { useStopBuild } from "../api/stop-build.ts";
import { RelativeTime } from "./relative-time.tsx";
import { StatusIndicator } from "./status-indicator.tsx";

export interface CacheStatusProps {
  projectId: string;
  state: DockerCacheState;
  /** Opens the build viewer on a build: the running one, or a finished one's log. */
  onView: (buildId: string) => void;
  /** Show the status only: the user may not stop, retry or delete. */
  readOnly?: boolean;
}

export function CacheStatus({ projectId, state, onView, readOnly = false }: CacheStatusProps) {
  const now = useNow();
  const startBuild = useStartBuild(projectId);
  const stopBuild = useStopBuild(projectId);
  const deleteCache = useDeleteCache(projectId);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const hasGolden = state.last_ready_at !== null;
  const busy = startBuild.isPending || stopBuild.isPending || deleteCache.isPending;
  const buildId = state.build_session_id;

  const summary = (() => {
    switch (state.status) {
      case "none":
        return <>No cache yet — will build on next merge</>;
      case "building":
        return (
          <>
            Building… Started{" "}
            {state.last_build_at ? (
              <RelativeTime iso={state.last_build_at}>{formatAgo(state.last_build_at, now)}</RelativeTime>
            ) : (
              "just now"
            )}
          </>
        );
      case "ready":
        return (
          <>
            Ready · {formatSize(state.size_bytes)} · Updated{" "}
            {state.last_ready_at ? (
              <RelativeTime iso={state.last_ready_at}>{formatAgo(state.last_ready_at, now)}</RelativeTime>
            ) : (
              "just now"
            )}
          </>
        );
      case "failed":
        return <>Failed: {state.error ?? "the build did not finish"}</>;
    }
  })();

  return (
    <Box
      sx={{ border: 1, borderColor: "divider", borderRadius: 2, px: 2, py: 1.5 }}
      aria-labelledby="docker-cache-status-label"
      role="group"
    >
      <Typography id="docker-cache-status-label" variant="overline" color="text.secondary" component="h3">
        Status
      </Typography>
      <Stack
        direction="row"
        spacing={1.5}
        sx={{ alignItems: "center", flexWrap: "wrap", rowGap: 1 }}
        data-testid="docker-cache-status"
      >
        <StatusIndicator status={state.status} />
        <Typography role="status" aria-live="polite" sx={{ flex: "1 1 240px", minWidth: 0, wordBreak: "break-word" }}>
          {summary}
        </Typography>
        <Stack direction="row" spacing={1}>
          {state.status === "building" && buildId && (
            <>
              <Button size="small" variant="outlined" onClick={() => onView(buildId)}>
                View
              </Button>
              {!readOnly && (
                <Button
                  size="small"
                  variant="outlined"
                  color="warning"
                  disabled={busy}
                  onClick={() => stopBuild.mutate()}
                >
                  {stopBuild.isPending ? "Stopping…" : "Stop"}
                </Button>
              )}
            </>
          )}
          {state.status === "failed" && (
            <>
              {buildId && (
                <Button size="small" variant="outlined" onClick={() => onView(buildId)}>
                  View session
                </Button>
              )}
              {!readOnly && (
                <Button size="small" variant="contained" disabled={busy} onClick={() => startBuild.mutate("retry")}>
                  Retry
                </Button>
              )}
            </>
          )}
          {!readOnly && (state.status === "ready" || (state.status === "failed" && hasGolden)) && (
            <Button
              size="small"
              variant="outlined"
              color="error"
              disabled={busy}
              onClick={() => setConfirmDelete(true)}
            >
              Delete cache
            </Button>
          )}
        </Stack>
      </Stack>
      {(state.status === "building" || state.status === "failed") && hasGolden && state.last_ready_at && (
        <Typography variant="body2" color="text.secondary" sx={{ mt: 0.5, pl: 3.5 }}>
          Current cache: {formatSize(state.size_bytes)}, {describeAge(state.last_ready_at, now)} — new sessions still
          start from it.
        </Typography>
      )}
      <Dialog open={confirmDelete} onClose={() => setConfirmDelete(false)} aria-labelledby="delete-cache-title">
        <DialogTitle id="delete-cache-title">Delete the Docker cache?</DialogTitle>
        <DialogContent>
          <DialogContentText>
            New sessions will start with an empty Docker directory and rebuild their images until the cache is built
            again{state.size_bytes > 0 ? ` (${formatSize(state.size_bytes)} will be freed)` : ""}.
          </DialogContentText>
        </DialogContent>
        <DialogActions>
          <Button onClick={() => setConfirmDelete(false)} autoFocus>
            Cancel
          </Button>
          <Button
            color="error"
            variant="contained"
            onClick={() => {
              setConfirmDelete(false);
              deleteCache.mutate();
            }}
          >
            Delete cache
          </Button>
        </DialogActions>
      </Dialog>
    </Box>
  );
}

function describeAge(iso: string, now: number): string {
  const age = formatAge(iso, now);
  return age === "just now" ? "built just now" : `${age} old`;
}
