// The Startup Script section's editor: the script that prepares a session, and that a golden
// build runs to fill the Docker cache.
import Button from "@mui/material/Button";
import Stack from "@mui/material/Stack";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import { useEffect, useState } from "react";
import type { Project } from "../../../api/project/get-project.ts";
import { useUpdateProject } from "../../../api/project/update-project.ts";
import { showToast } from "../../../lib/toasts.tsx";

const maxLength = 65_536;

/** `readOnly`: the user may see the script but not change it (the reason is shown on the page). */
export function StartupScriptEditor({ project, readOnly = false }: { project: Project; readOnly?: boolean }) {
  const saved = project.startup_script;
  const [draft, setDraft] = useState(saved);
  const [base, setBase] = useState(saved);
  const update = useUpdateProject(project.id);
  const dirty = draft !== base;

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
      <TextField
        label="Startup script"
        value={draft}
        onChange={(event) => setDraft(event.target.value)}
        multiline
        minRows={8}
        maxRows={24}
        fullWidth
        error={tooLong}
        helperText={tooLong ? `The script is ${draft.length} characters; the limit is ${maxLength}.` : " "}
        placeholder={"#!/bin/bash\n./stack build\n./stack start"}
        slotProps={{
          htmlInput: {
            spellCheck: false,
            wrap: "off",
            readOnly,
            "aria-describedby": readOnly ? "startup-script-description read-only-reason" : "startup-script-description",
          },
          input: { sx: { fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace", fontSize: 14 } },
        }}
      />
      {!readOnly && (
        <Stack direction="row" spacing={1} sx={{ justifyContent: "flex-end", alignItems: "center" }}>
          {dirty && (
            <Typography variant="body2" color="text.secondary" sx={{ mr: "auto" }}>
              Unsaved changes
            </Typography>
          )}
          <Button variant="outlined" disabled={!dirty || update.isPending} onClick={() => setDraft(base)}>
            Discard
          </Button>
          <Button variant="contained" disabled={!dirty || tooLong || update.isPending} onClick={save}>
            {update.isPending ? "Saving…" : "Save"}
          </Button>
        </Stack>
      )}
    </Stack>
  );
}
