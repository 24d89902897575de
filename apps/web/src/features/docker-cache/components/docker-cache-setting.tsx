// "Pre-warm Docker cache": the switch, what it does, and the cache's status. Turning it on saves
// the setting and starts a build at once; turning it off only stops future builds. Notes under it
// say what the sandbox's Docker daemons mean for builds (none, a root daemon, projects not
// isolated, builds refused).
import FormControlLabel from "@mui/material/FormControlLabel";
import FormHelperText from "@mui/material/FormHelperText";
import Stack from "@mui/material/Stack";
import Switch from "@mui/material/Switch";
import Typography from "@mui/material/Typography";
import type { Project } from "../../../api/project/get-project.ts";
import { useProjectSandboxes } from "../../../api/project/get-project-sandboxes.ts";
import { useUpdateProject } from "../../../api/project/update-project.ts";
import { useSandboxStatus } from "../../../api/sandbox/get-sandbox-status.ts";
import { showToast } from "../../../lib/toasts.tsx";
import { CacheStatus } from "./cache-status.tsx";
import { DockerAvailabilityNotes, dockerNotes } from "./docker-availability-notes.tsx";

const description =
  "If your startup script builds Docker images, this keeps a warm cache so new sessions start in ~15 seconds " +
  "instead of rebuilding from scratch. The cache updates automatically when code is merged to main.";
const noScriptHelp = "Add a startup script first — the Docker cache is built by running it.";
const buildStartedToast = "Docker cache build started. This runs your startup script and takes a few minutes.";

export function DockerCacheSetting({
  project,
  onView,
  readOnly = false,
  unavailable = null,
}: {
  project: Project;
  onView: (buildId: string) => void;
  /** The user may see the setting and status but change nothing (the reason is shown on the page). */
  readOnly?: boolean;
  /** Why builds cannot start now (the sandbox cannot be reached), or null. */
  unavailable?: string | null;
}) {
  const update = useUpdateProject(project.id);
  const enabled = project.metadata.auto_warm_docker_cache;
  const state = project.metadata.docker_cache_state;
  const hasScript = project.startup_script.trim() !== "";
  // Null until the BFF has asked the sandbox: say nothing until it is known.
  const notes = dockerNotes(useSandboxStatus().data?.docker ?? null);
  const sandboxes = useProjectSandboxes(project.id).data?.sandboxes;

  const toggle = (checked: boolean) =>
    update.mutate(
      { metadata: { auto_warm_docker_cache: checked } },
      {
        onSuccess: (result) => {
          if (result.build_started) showToast(buildStartedToast, "success");
        },
      },
    );

  // With the setting off and nothing built, there is no status worth a row.
  const showStatus = enabled || state.status !== "none";

  return (
    <Stack spacing={2}>
      <Stack direction="row" spacing={2} sx={{ alignItems: "flex-start", justifyContent: "space-between" }}>
        <div>
          <Typography id="prewarm-label" variant="subtitle1" component="h3" sx={{ fontWeight: 600 }}>
            Pre-warm Docker cache
          </Typography>
          <Typography id="prewarm-description" variant="body2" color="text.secondary" sx={{ maxWidth: 560 }}>
            {description}
          </Typography>
          {!hasScript && (
            <FormHelperText id="prewarm-helper" sx={{ mx: 0 }}>
              {noScriptHelp}
            </FormHelperText>
          )}
        </div>
        <FormControlLabel
          sx={{ mr: 0 }}
          label={enabled ? "On" : "Off"}
          labelPlacement="start"
          control={
            <Switch
              checked={enabled}
              // Turning it off needs no sandbox; turning it on starts a build, which does.
              disabled={readOnly || !hasScript || update.isPending || (!enabled && unavailable !== null)}
              onChange={(_, checked) => toggle(checked)}
              slotProps={{
                input: {
                  "aria-labelledby": "prewarm-label",
                  "aria-describedby": [
                    readOnly ? "read-only-reason" : null,
                    unavailable && !enabled ? "sandbox-unreachable" : null,
                    hasScript ? null : "prewarm-helper",
                    "prewarm-description",
                    ...notes.map((note) => note.id),
                  ]
                    .filter(Boolean)
                    .join(" "),
                },
              }}
            />
          }
        />
      </Stack>
      <DockerAvailabilityNotes notes={notes} />
      {showStatus && (
        <CacheStatus
          projectId={project.id}
          state={state}
          onView={onView}
          readOnly={readOnly}
          unavailable={unavailable}
          sandboxes={sandboxes}
        />
      )}
    </Stack>
  );
}
