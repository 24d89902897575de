// A project's settings page: the Startup Script section with the Pre-warm Docker cache setting,
// and the Docker Cache Build and Test Session viewers beside it when open (below it on narrow
// screens). Features do not import each other; the page wires them together: [Test] in the
// editor starts a test session here, and the Test Session column shows it.
import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import CircularProgress from "@mui/material/CircularProgress";
import Container from "@mui/material/Container";
import Divider from "@mui/material/Divider";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import Typography from "@mui/material/Typography";
import { lazy, Suspense, useState } from "react";
import { useSession } from "../../api/auth/get-session.ts";
import { useProject } from "../../api/project/get-project.ts";
import { useProjectMembers } from "../../api/project/list-members.ts";
import { useProjectEvents } from "../../api/project/use-project-events.ts";
import { useSandboxUnavailable } from "../../api/sandbox/get-sandbox-status.ts";
import { BuildViewer } from "../../features/build-viewer/components/build-viewer.tsx";
import { DockerCacheSetting } from "../../features/docker-cache/components/docker-cache-setting.tsx";
import { SandboxBanner } from "../../features/docker-cache/components/sandbox-banner.tsx";
import { StartupScriptEditor } from "../../features/startup-script/components/startup-script-editor.tsx";
import { useStartTestSession } from "../../features/test-session/api/start-test-session.ts";
import { ApiError } from "../../lib/problem.ts";

// Below the fold, and a table: loaded after the settings are on screen.
const BuildHistory = lazy(() => import("../../features/build-history/components/build-history.tsx"));
const TestSessionViewer = lazy(() => import("../../features/test-session/components/test-session-viewer.tsx"));

/**
 * Whether the current user may change the project: undefined while that is being checked (the
 * page waits for it, so an owner never sees a member's page flash by), null when they may (they
 * own it), or why not.
 */
function useReadOnlyReason(projectId: string): string | null | undefined {
  const session = useSession();
  const members = useProjectMembers(projectId);
  if (members.isPending) return undefined;
  const owner = members.data?.find((member) => member.role === "owner")?.user;
  if (owner && owner.id === session.data?.id) return null;
  if (!members.data) return "Could not check whether you may change this project; reload the page to try again.";
  const who = owner ? `${owner.name}, the project's owner,` : "the project's owner";
  return `Only ${who} can change it. You can see its status and build logs.`;
}

export function ProjectSettingsRoute({ projectId }: { projectId: string }) {
  const project = useProject(projectId);
  useProjectEvents(projectId);
  const [viewedBuild, setViewedBuild] = useState<string | null>(null);
  const [testSession, setTestSession] = useState<string | null>(null);
  const readOnly = useReadOnlyReason(projectId);
  const unavailable = useSandboxUnavailable();
  const startTest = useStartTestSession(projectId);

  if (project.isPending || (project.isSuccess && readOnly === undefined)) {
    return (
      <Box sx={{ display: "grid", placeItems: "center", minHeight: "50vh" }}>
        <CircularProgress aria-label="Loading the project" />
      </Box>
    );
  }
  if (project.isError) {
    const missing = project.error instanceof ApiError && project.error.problem.status === 404;
    return (
      <Container sx={{ py: 4 }}>
        <Alert severity={missing ? "warning" : "error"}>
          {missing
            ? "This project does not exist, or you do not have access to it."
            : `Could not load this project: ${project.error.message}`}
        </Alert>
      </Container>
    );
  }

  const data = project.data;
  const state = data.metadata.docker_cache_state;
  const viewerLive = viewedBuild !== null && state.status === "building" && state.build_id === viewedBuild;

  return (
    <Container maxWidth={viewedBuild || testSession ? "xl" : "md"} sx={{ py: 4 }}>
      <Box component="header" sx={{ mb: 3 }}>
        <Typography variant="overline" color="text.secondary">
          {data.name}
        </Typography>
        <Typography variant="h1">Project settings</Typography>
        {readOnly && (
          // A standing notice, not an alert: nothing happened that needs announcing.
          <Alert id="read-only-reason" severity="info" role="note" sx={{ mt: 2 }}>
            {readOnly}
          </Alert>
        )}
        <SandboxBanner />
      </Box>
      <Stack direction={{ xs: "column", md: "row" }} spacing={3} sx={{ alignItems: "flex-start" }}>
        {/* Beside each other from 900 px (MUI's md); the viewer stacks below the settings under it. */}
        <Stack spacing={3} sx={{ flex: 1, minWidth: 0, width: "100%" }}>
          <Paper component="section" aria-labelledby="startup-script-title" variant="outlined" sx={{ p: 3 }}>
            <Typography id="startup-script-title" variant="h2" gutterBottom>
              Startup Script
            </Typography>
            <Typography id="startup-script-description" variant="body2" color="text.secondary" sx={{ mb: 2 }}>
              This script runs when an agent starts working on this project. Use it to install dependencies, start dev
              servers, etc.
            </Typography>
            <StartupScriptEditor
              project={data}
              readOnly={readOnly != null}
              unavailable={unavailable}
              testStarting={startTest.isPending}
              onTest={(startupScript) =>
                startTest.mutate(startupScript, { onSuccess: (session) => setTestSession(session.session_id) })
              }
            />
            <Divider sx={{ my: 3, borderStyle: "dashed" }} />
            <DockerCacheSetting
              project={data}
              onView={setViewedBuild}
              readOnly={readOnly != null}
              unavailable={unavailable}
            />
          </Paper>
          {(data.metadata.auto_warm_docker_cache || state.last_build_at !== null) && (
            <Suspense fallback={null}>
              <BuildHistory projectId={data.id} state={state} onView={setViewedBuild} />
            </Suspense>
          )}
        </Stack>
        {(viewedBuild || testSession) && (
          <Stack spacing={3} sx={{ flex: 1, minWidth: 0, width: "100%" }}>
            {viewedBuild && (
              <BuildViewer
                projectId={data.id}
                buildId={viewedBuild}
                live={viewerLive}
                onClose={() => setViewedBuild(null)}
              />
            )}
            {testSession && (
              <Suspense fallback={null}>
                <TestSessionViewer projectId={data.id} sessionId={testSession} onClose={() => setTestSession(null)} />
              </Suspense>
            )}
          </Stack>
        )}
      </Stack>
    </Container>
  );
}
