// The "Test Session" column: the startup script running in an ordinary session, the way an
// agent's session starts. It leads with what the cache saved: the Docker data copied from the
// golden (with progress while it copies, and how long it took), or that there was none or why it
// could not be used; then
// the Docker engine the script has, or that it has none.
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import IconButton from "@mui/material/IconButton";
import LinearProgress from "@mui/material/LinearProgress";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import SvgIcon from "@mui/material/SvgIcon";
import Typography from "@mui/material/Typography";
import { useSandboxStatus } from "../../../api/sandbox/get-sandbox-status.ts";
import { TerminalFrame } from "../../../components/terminal-frame.tsx";
import { formatDockerEngine, formatSize } from "../../../lib/format.ts";
import { isActive, type TestSession, useTestSession } from "../api/get-test-session.ts";
import { useStopTestSession } from "../api/stop-test-session.ts";
import { streamTestSessionLog } from "../api/stream-test-session-log.ts";

/**
 * "Docker data prepared from cache in 1.2 s (8.7 GB)", with how far behind the cache was when the
 * session's sandbox did not have the newest yet; or what is happening instead.
 */
function describePreparation(session: TestSession): string {
  if (session.prepared?.source === "golden") {
    const prepared = `Docker data prepared from cache in ${session.prepared.seconds} s (${formatSize(session.prepared.size_bytes)})`;
    return session.cache && !session.cache.newest ? `${prepared} · ${describeOlderCache(session.cache)}` : prepared;
  }
  if (session.prepared?.golden_unusable) return `Cache not used: ${session.prepared.golden_unusable}. Started empty`;
  if (session.prepared?.source === "empty") return "No cache: started empty";
  if (session.total_bytes > 0) {
    return `Preparing Docker data from cache… ${formatSize(session.copied_bytes)} of ${formatSize(session.total_bytes)}`;
  }
  return "Preparing the Docker directory…";
}

/** "cache from abc1234, 2 merges behind main": an older generation, the newest not on this sandbox yet. */
function describeOlderCache(cache: NonNullable<TestSession["cache"]>): string {
  const from = cache.commit_sha ? `cache from ${cache.commit_sha.slice(0, 7)}` : "an older cache";
  const behind = cache.merges_behind;
  return behind > 0 ? `${from}, ${behind} merge${behind === 1 ? "" : "s"} behind main` : `${from}, not the newest`;
}

/**
 * "Docker 20.10.24+dfsg1 (overlay2, rootless)" once the daemon is up, or that the script has none. A
 * running session's engine is null while its daemon starts, and for good where the sandbox has
 * no Docker engine, so the sandbox's word tells the two apart.
 */
function describeDockerEngine(session: TestSession, sandboxHasEngine: boolean | undefined): string | null {
  if (session.docker_engine === null) {
    if (sandboxHasEngine === false) return "No Docker daemon on this sandbox";
    if (session.status === "running" && sandboxHasEngine) return "Starting a Docker daemon…";
  }
  return formatDockerEngine(session.docker_engine, !isActive(session));
}

function describeStatus(session: TestSession): string {
  switch (session.status) {
    case "preparing":
      return "Preparing";
    case "running":
      return "Running the startup script";
    case "succeeded":
      return "Finished: the startup script exited with code 0";
    case "stopped":
      return "Stopped";
    default:
      return `Failed: ${session.error ?? "the script did not finish"}`;
  }
}

export default function TestSessionViewer({
  projectId,
  sessionId,
  onClose,
}: {
  projectId: string;
  sessionId: string;
  onClose: () => void;
}) {
  const query = useTestSession(projectId, sessionId);
  const stop = useStopTestSession(projectId, sessionId);
  const session = query.data;
  const live = isActive(session);
  // Null until the BFF has asked the sandbox.
  const sandboxHasEngine = useSandboxStatus().data?.docker?.available;
  const engine = session ? describeDockerEngine(session, sandboxHasEngine) : null;

  return (
    <Paper component="section" aria-labelledby="test-session-title" variant="outlined" sx={{ p: 2 }}>
      <Stack direction="row" sx={{ alignItems: "center", mb: 1.5 }} spacing={1}>
        <Box sx={{ flex: 1, minWidth: 0 }}>
          <Typography id="test-session-title" variant="h6" component="h2">
            Test Session
          </Typography>
          <Typography variant="body2" color="text.secondary" role="status" aria-live="polite">
            {session ? describeStatus(session) : "Starting…"}
          </Typography>
        </Box>
        {live && (
          <Button
            size="small"
            variant="outlined"
            color="warning"
            onClick={() => stop.mutate()}
            disabled={stop.isPending}
          >
            Stop
          </Button>
        )}
        <IconButton aria-label="Close the test session" onClick={onClose}>
          <SvgIcon>
            <path d="M19 6.41 17.59 5 12 10.59 6.41 5 5 6.41 10.59 12 5 17.59 6.41 19 12 13.41 17.59 19 19 17.59 13.41 12z" />
          </SvgIcon>
        </IconButton>
      </Stack>
      {session && (
        <Box sx={{ mb: 1.5 }}>
          <Typography variant="body2" sx={{ fontWeight: 500 }} data-testid="test-session-preparation">
            {describePreparation(session)}
          </Typography>
          {session.prepared === null && (
            <LinearProgress
              sx={{ mt: 1 }}
              aria-label="Copying the Docker data"
              variant={session.total_bytes > 0 ? "determinate" : "indeterminate"}
              value={
                session.total_bytes > 0 ? Math.round((100 * session.copied_bytes) / session.total_bytes) : undefined
              }
            />
          )}
          {engine && (
            <Typography variant="body2" color="text.secondary" sx={{ mt: 0.5 }} data-testid="test-session-engine">
              {engine}
            </Typography>
          )}
        </Box>
      )}
      <TerminalFrame
        logKey={sessionId}
        readLog={(options) => streamTestSessionLog({ projectId, sessionId, ...options })}
        follow={live || session === undefined}
        what="test session"
        testId="test-session-terminal"
      />
    </Paper>
  );
}
