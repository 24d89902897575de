// The "Docker Cache Build" column: a 16:9 terminal showing a build's output, live while it runs
// and replayed from the start when opened mid-build or after it ended. xterm.js is loaded only
// when the column opens, to keep it out of the page's first download. The header says which
// Docker engine ran the build once that is known.
import Box from "@mui/material/Box";
import IconButton from "@mui/material/IconButton";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import SvgIcon from "@mui/material/SvgIcon";
import Typography from "@mui/material/Typography";
import { TerminalFrame } from "../../../components/terminal-frame.tsx";
import { formatDockerEngine } from "../../../lib/format.ts";
import { useBuild } from "../api/get-build.ts";
import { streamBuildLog } from "../api/stream-build-log.ts";

interface BuildViewerProps {
  projectId: string;
  buildId: string;
  /** Whether the build is still running, so its output keeps coming. */
  live: boolean;
  onClose: () => void;
}

export function BuildViewer({ projectId, buildId, live, onClose }: BuildViewerProps) {
  const build = useBuild(projectId, buildId, live).data;
  const engine = build ? formatDockerEngine(build.docker_engine, build.status !== "running") : null;
  return (
    <Paper component="section" aria-labelledby="build-viewer-title" variant="outlined" sx={{ p: 2 }}>
      <Stack direction="row" sx={{ alignItems: "center", mb: 1.5 }} spacing={1}>
        <Box sx={{ flex: 1, minWidth: 0 }}>
          <Typography id="build-viewer-title" variant="h6" component="h2">
            Docker Cache Build
          </Typography>
          <Typography variant="body2" color="text.secondary" noWrap title={buildId}>
            {live ? "Running" : "Finished"} · {buildId}
          </Typography>
          {engine && (
            <Typography variant="body2" color="text.secondary">
              {engine}
            </Typography>
          )}
        </Box>
        <IconButton aria-label="Close the build viewer" onClick={onClose}>
          <SvgIcon>
            <path d="M19 6.41 17.59 5 12 10.59 6.41 5 5 6.41 10.59 12 5 17.59 6.41 19 12 13.41 17.59 19 19 17.59 13.41 12z" />
          </SvgIcon>
        </IconButton>
      </Stack>
      <TerminalFrame
        logKey={buildId}
        readLog={(options) => streamBuildLog({ projectId, buildId, ...options })}
        follow={live}
        what="build"
        testId="build-terminal"
      />
    </Paper>
  );
}
