// The Startup Script section's editor: the script that prepares a session, and that a golden
// build runs to fill the Docker cache.
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Stack from "@mui/material/Stack";
import Typography from "@mui/material/Typography";
import { lazy, Suspense, useEffect, useState } from "react";
import type { Project } from "../../../api/project/get-project.ts";
import { useUpdateProject } from "../../../api/project/update-project.ts";
import { showToast } from "../../../lib/toasts.tsx";
import { useUnsavedChangesGuard } from "../../../lib/unsaved-changes.ts";

const maxLength = 65_536;

const ScriptCodeEditor = lazy(() => import("./script-code-editor.tsx"));
const ScriptHistoryDialog = lazy(() => import("./script-history-dialog.tsx"));

/** The script as text while the editor loads: what it says is on screen at once. */
function ScriptPreview({ script }: { script: string }) {
  return (
    <Box
      component="pre"
      aria-busy="true"
      aria-label="Startup script (loading the editor)"
      sx={{
        m: 0,
        p: 1.5,
        minHeight: "12em",
        border: 1,
        borderColor: "divider",
        borderRadius: 2,
        fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace",
        fontSize: 14,
        overflow: "auto",
      }}
    >
      {script}
    </Box>
  );
}

interface StartupScriptEditorProps {
  project: Project;
  /** The user may see the script but not change or test it (the reason is shown on the page). */
  readOnly?: boolean;
  /** Why [Test] cannot run now (the sandbox cannot be reached), or null. */
  unavailable?: string | null;
  /** [Test]: runs the editor's script in a test session (the page starts it and shows it). */
  onTest?: (startupScript: string) => void;
  /** A test session asked for by [Test] is starting. */
  testStarting?: boolean;
}

export function StartupScriptEditor({
  project,
  readOnly = false,
  unavailable = null,
  onTest,
  testStarting = false,
}: StartupScriptEditorProps) {
  const saved = project.startup_script;
  const [draft, setDraft] = useState(saved);
  const [base, setBase] = useState(saved);
  const update = useUpdateProject(project.id);
  const dirty = draft !== base;
  useUnsavedChangesGuard(dirty);
  const [historyOpen, setHistoryOpen] = useState(false);

  // Follow changes saved elsewhere, unless the user is in the middle of an edit.
  useEffect(() => {
    if (saved !== base) {
      if (!dirty) setDraft(saved);
      setBase(saved);
    }
  }, [saved, base, dirty]);

  const tooLong = draft.length > maxLength;
  const save = () =>
    update.mutate(
      { startup_script: draft },
      {
        onSuccess: (result) => {
          setBase(result.project.startup_script);
          showToast("Startup script saved", "success");
        },
      },
    );

  return (
    <Stack spacing={1.5}>
      <Typography id="startup-script-label" variant="body2" sx={{ fontWeight: 500 }}>
        Startup script
      </Typography>
      <Suspense fallback={<ScriptPreview script={draft} />}>
        <ScriptCodeEditor
          value={draft}
          onChange={setDraft}
          readOnly={readOnly}
          label="Startup script"
          describedBy={[
            readOnly ? "startup-script-description read-only-reason" : "startup-script-description",
            tooLong ? "startup-script-error" : "",
          ]
            .join(" ")
            .trim()}
          invalid={tooLong}
          placeholder={"#!/bin/bash\n./stack build\n./stack start"}
        />
      </Suspense>
      {!readOnly && (
        <Typography id="test-help" variant="body2" color="text.secondary">
          Test runs the script in the editor in an ordinary session whose Docker data comes from the cache.
        </Typography>
      )}
      {tooLong && (
        <Typography id="startup-script-error" variant="body2" color="error">
          The script is {draft.length} characters; the limit is {maxLength}.
        </Typography>
      )}
      <Stack direction="row" spacing={1} sx={{ justifyContent: "flex-end", alignItems: "center" }}>
        {dirty && (
          <Typography variant="body2" color="text.secondary" sx={{ mr: "auto" }}>
            Unsaved changes
          </Typography>
        )}
        <Button variant="text" onClick={() => setHistoryOpen(true)}>
          History
        </Button>
        {!readOnly && (
          <>
            <Button
              variant="outlined"
              disabled={draft.trim() === "" || tooLong || testStarting || unavailable !== null}
              aria-describedby={unavailable ? "sandbox-unreachable" : "test-help"}
              onClick={() => onTest?.(draft)}
            >
              Test
            </Button>
            <Button variant="outlined" disabled={!dirty || update.isPending} onClick={() => setDraft(base)}>
              Discard
            </Button>
            <Button variant="contained" disabled={!dirty || tooLong || update.isPending} onClick={save}>
              {update.isPending ? "Saving…" : "Save"}
            </Button>
          </>
        )}
      </Stack>
      {historyOpen && (
        <Suspense fallback={null}>
          <ScriptHistoryDialog
            projectId={project.id}
            revision={project.revision}
            current={draft}
            canRestore={!readOnly}
            onClose={() => setHistoryOpen(false)}
            onRestore={(version) => {
              setDraft(version.startup_script);
              setHistoryOpen(false);
              showToast("An earlier version is in the editor. Save to use it.", "info");
            }}
          />
        </Suspense>
      )}
    </Stack>
  );
}
