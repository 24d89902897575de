// The status row of the Docker cache, exactly as the product's status table has it (with many
// sandbox hosts: on how many the newest cache is ready, and what is on its way), with the
// actions each state offers. A rebuild or a failure never hides a golden that still serves
// sessions: it is shown alongside.
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Stack from "@mui/material/Stack";
import Typography from "@mui/material/Typography";
import { lazy, Suspense, useState } from "react";
import type { DockerCacheState } from "../../../api/project/get-project.ts";
import type { ProjectSandbox } from "../../../api/project/get-project-sandboxes.ts";
import { RelativeTime } from "../../../components/relative-time.tsx";
import { formatAge, formatAgo, formatElapsed, formatSize } from "../../../lib/format.ts";
import { useNow } from "../../../lib/use-now.ts";
import { useDeleteCache } from "../api/delete-cache.ts";
import { useResumeBuilds } from "../api/resume-builds.ts";
import { useStartBuild } from "../api/start-build.ts";
import { useStopBuild } from "../api/stop-build.ts";
import { CacheSandboxes, fleetSummary } from "./cache-sandboxes.tsx";
import { StatusIndicator } from "./status-indicator.tsx";

// Dialogs bring the modal machinery (focus trap, portal, backdrop); load it when one is opened.
const DeleteCacheDialog = lazy(() => import("./delete-cache-dialog.tsx"));

interface CacheStatusProps {
  projectId: string;
  state: DockerCacheState;
  /** Opens the build viewer on a build: the running one, or a finished one's log. */
  onView: (buildId: string) => void;
  /** Show the status only: the user may not stop, retry or delete. */
  readOnly?: boolean;
  /** Why actions needing the sandbox are unavailable now (it cannot be reached), or null. */
  unavailable?: string | null;
  /** The cache on each sandbox host; shown when there is more than one. */
  sandboxes?: ProjectSandbox[];
}

export function CacheStatus({
  projectId,
  state,
  onView,
  readOnly = false,
  unavailable = null,
  sandboxes = [],
}: CacheStatusProps) {
  const fleet = sandboxes.length > 1 ? fleetSummary(sandboxes) : null;
  const now = useNow();
  const startBuild = useStartBuild(projectId);
  const stopBuild = useStopBuild(projectId);
  const deleteCache = useDeleteCache(projectId);
  const resume = useResumeBuilds(projectId);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const hasGolden = state.last_ready_at !== null;
  const busy = startBuild.isPending || stopBuild.isPending || deleteCache.isPending || unavailable !== null;
  // Disabled buttons explain themselves through the banner that says why.
  const why = unavailable ? { "aria-describedby": "sandbox-unreachable" } : {};
  const buildId = state.build_id;

  const summary = (() => {
    switch (state.status) {
      case "none":
        return state.evicted_at ? (
          <>
            Evicted <RelativeTime iso={state.evicted_at}>{formatAgo(state.evicted_at, now)}</RelativeTime> to free disk
            space — will build again on next merge
          </>
        ) : (
          <>No cache yet — will build on next merge</>
        );
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
            {fleet ? fleet.ready : "Ready"} · {formatSize(state.size_bytes)} · Updated{" "}
            {state.last_ready_at ? (
              <RelativeTime iso={state.last_ready_at}>{formatAgo(state.last_ready_at, now)}</RelativeTime>
            ) : (
              "just now"
            )}
            {state.merges_behind > 0 && <> · {mergesBehind(state.merges_behind)}</>}
            {fleet?.more.map((part) => (
              <span key={part}> · {part}</span>
            ))}
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
        {/* Outside the live region: a clock ticking every second must not be read out. */}
        {state.status === "building" && state.last_build_at && (
          <Typography variant="body2" color="text.secondary" data-testid="build-elapsed">
            {formatElapsed(state.last_build_at, now)} elapsed
          </Typography>
        )}
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
                  {...why}
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
                <Button
                  size="small"
                  variant="contained"
                  disabled={busy}
                  {...why}
                  onClick={() => startBuild.mutate("retry")}
                >
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
              {...why}
              onClick={() => setConfirmDelete(true)}
            >
              Delete cache
            </Button>
          )}
        </Stack>
      </Stack>
      {state.status === "building" && state.queued && (
        <Typography variant="body2" color="text.secondary" sx={{ mt: 0.5, pl: 3.5 }}>
          Next build queued ({describeQueued(state.queued)}) — it starts when this one ends.
        </Typography>
      )}
      {state.paused && (
        <Stack direction="row" spacing={1} sx={{ mt: 1, pl: 3.5, alignItems: "center", flexWrap: "wrap", rowGap: 1 }}>
          <Typography variant="body2" sx={{ color: "warning.main", fontWeight: 500 }}>
            Paused after {state.consecutive_failures} failed builds in a row: merges to main do not start builds.
          </Typography>
          {!readOnly && (
            <Button size="small" variant="outlined" disabled={resume.isPending} onClick={() => resume.mutate()}>
              Resume
            </Button>
          )}
        </Stack>
      )}
      {(state.status === "building" || state.status === "failed") && hasGolden && state.last_ready_at && (
        <Typography variant="body2" color="text.secondary" sx={{ mt: 0.5, pl: 3.5 }}>
          Current cache: {formatSize(state.size_bytes)}, {describeAge(state.last_ready_at, now)} — new sessions still
          start from it.
        </Typography>
      )}
      {fleet && <CacheSandboxes sandboxes={sandboxes} />}
      {confirmDelete && (
        <Suspense fallback={null}>
          <DeleteCacheDialog
            sizeBytes={state.size_bytes}
            onCancel={() => setConfirmDelete(false)}
            onConfirm={() => {
              setConfirmDelete(false);
              deleteCache.mutate();
            }}
          />
        </Suspense>
      )}
    </Box>
  );
}

function mergesBehind(count: number): string {
  return count === 1 ? "1 merge behind main" : `${count} merges behind main`;
}

function describeQueued(queued: NonNullable<DockerCacheState["queued"]>): string {
  const what = { merge: "a merge", retry: "a retry", manual: "a manual build", enable: "turning it on" }[
    queued.trigger
  ];
  return queued.commit_sha ? `${what}, ${queued.commit_sha.slice(0, 7)}` : what;
}

function describeAge(iso: string, now: number): string {
  const age = formatAge(iso, now);
  return age === "just now" ? "built just now" : `${age} old`;
}
