// Recent builds of the golden: what started each, from which commit, when, how long it took,
// how big the golden came out, how it ended and which Docker engine ran it. Each row opens its
// log in the viewer. The chart of size and duration is loaded only when someone asks for it.
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import CircularProgress from "@mui/material/CircularProgress";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableContainer from "@mui/material/TableContainer";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import Typography from "@mui/material/Typography";
import { lazy, Suspense, useState } from "react";
import type { DockerCacheState } from "../../../api/project/get-project.ts";
import { RelativeTime } from "../../../components/relative-time.tsx";
import { formatAgo, formatDockerEngine, formatSeconds, formatSize } from "../../../lib/format.ts";
import { useNow } from "../../../lib/use-now.ts";
import { type Build, useBuilds } from "../api/list-builds.ts";

const BuildChart = lazy(() => import("./build-chart.tsx"));

const triggers: Record<Build["trigger"], string> = {
  enable: "Turned on",
  retry: "Retry",
  manual: "Manual",
  merge: "Merge",
};

// Words carry the outcome; the symbol and colour only repeat it.
const outcomes: Record<Build["status"], { label: string; symbol: string; color: string }> = {
  running: { label: "Running", symbol: "●", color: "info.main" },
  succeeded: { label: "Succeeded", symbol: "✓", color: "success.main" },
  failed: { label: "Failed", symbol: "✕", color: "error.main" },
  stopped: { label: "Stopped", symbol: "■", color: "text.secondary" },
  interrupted: { label: "Interrupted", symbol: "!", color: "warning.main" },
};

export default function BuildHistory({
  projectId,
  state,
  onView,
}: {
  projectId: string;
  state: DockerCacheState;
  onView: (buildId: string) => void;
}) {
  const builds = useBuilds(projectId, state);
  const now = useNow(10_000);
  const [showChart, setShowChart] = useState(false);
  const list = builds.data ?? [];

  return (
    <Paper component="section" aria-labelledby="build-history-title" variant="outlined" sx={{ p: 3 }}>
      <Stack direction="row" sx={{ alignItems: "center", justifyContent: "space-between", mb: 1 }}>
        <Typography id="build-history-title" variant="h2">
          Build history
        </Typography>
        {list.length > 1 && (
          <Button size="small" onClick={() => setShowChart((shown) => !shown)} aria-expanded={showChart}>
            {showChart ? "Hide chart" : "Show chart"}
          </Button>
        )}
      </Stack>
      {builds.isPending && <CircularProgress size={24} aria-label="Loading builds" />}
      {builds.isError && <Typography color="error">Could not load the builds: {builds.error.message}</Typography>}
      {builds.isSuccess && list.length === 0 && (
        <Typography variant="body2" color="text.secondary">
          No builds yet. The first one starts when Pre-warm Docker cache is turned on.
        </Typography>
      )}
      {showChart && (
        <Suspense fallback={<CircularProgress size={24} aria-label="Loading the chart" />}>
          <BuildChart builds={list} />
        </Suspense>
      )}
      {list.length > 0 && (
        <TableContainer>
          <Table size="small" aria-labelledby="build-history-title">
            <TableHead>
              <TableRow>
                <TableCell>Outcome</TableCell>
                <TableCell>Trigger</TableCell>
                <TableCell>Commit</TableCell>
                <TableCell>Started</TableCell>
                <TableCell align="right">Duration</TableCell>
                <TableCell align="right">Size</TableCell>
                <TableCell>
                  <Box component="span" sx={visuallyHidden}>
                    Log
                  </Box>
                </TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {list.map((build) => {
                const outcome = outcomes[build.status];
                // A running build's list is read when it starts, before its daemon is up.
                const engine = formatDockerEngine(build.docker_engine, build.status !== "running");
                return (
                  <TableRow key={build.id} hover>
                    <TableCell title={build.error ?? undefined}>
                      <Box component="span" sx={{ whiteSpace: "nowrap" }}>
                        <Box component="span" aria-hidden sx={{ color: outcome.color, mr: 0.75 }}>
                          {outcome.symbol}
                        </Box>
                        {outcome.label}
                      </Box>
                      {/* Under the outcome rather than a column of its own: the table stays readable at 900 px. */}
                      {engine && (
                        <Typography variant="caption" color="text.secondary" sx={{ display: "block" }}>
                          {engine}
                        </Typography>
                      )}
                    </TableCell>
                    <TableCell>{triggers[build.trigger]}</TableCell>
                    <TableCell sx={{ fontFamily: "ui-monospace, monospace" }}>
                      {build.commit_sha?.slice(0, 7) ?? "—"}
                    </TableCell>
                    <TableCell>
                      <RelativeTime iso={build.started_at}>{formatAgo(build.started_at, now)}</RelativeTime>
                    </TableCell>
                    <TableCell align="right">
                      {build.duration_seconds === null ? "—" : formatSeconds(build.duration_seconds)}
                    </TableCell>
                    <TableCell align="right">
                      {build.size_bytes === null ? "—" : formatSize(build.size_bytes)}
                    </TableCell>
                    <TableCell>
                      <Button size="small" onClick={() => onView(build.id)} aria-label={`View the log of ${build.id}`}>
                        Log
                      </Button>
                    </TableCell>
                  </TableRow>
                );
              })}
            </TableBody>
          </Table>
        </TableContainer>
      )}
    </Paper>
  );
}

const visuallyHidden = {
  position: "absolute",
  width: 1,
  height: 1,
  overflow: "hidden",
  clip: "rect(0 0 0 0)",
  whiteSpace: "nowrap",
} as const;
