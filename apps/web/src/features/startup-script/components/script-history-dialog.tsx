// [History]: the startup script as it was saved before, by whom and when. Choosing a version
// shows it; Restore puts it into the editor, where it is saved like any edit (so restoring is
// itself a new version, and nothing is lost).
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import CircularProgress from "@mui/material/CircularProgress";
import Dialog from "@mui/material/Dialog";
import DialogActions from "@mui/material/DialogActions";
import DialogContent from "@mui/material/DialogContent";
import DialogTitle from "@mui/material/DialogTitle";
import List from "@mui/material/List";
import ListItem from "@mui/material/ListItem";
import ListItemButton from "@mui/material/ListItemButton";
import ListItemText from "@mui/material/ListItemText";
import Stack from "@mui/material/Stack";
import Typography from "@mui/material/Typography";
import { useState } from "react";
import { RelativeTime } from "../../../components/relative-time.tsx";
import { formatAgo } from "../../../lib/format.ts";
import { useNow } from "../../../lib/use-now.ts";
import { type ScriptVersion, useScriptVersions } from "../api/list-script-versions.ts";

export default function ScriptHistoryDialog({
  projectId,
  revision,
  current,
  canRestore,
  onRestore,
  onClose,
}: {
  projectId: string;
  revision: number;
  current: string;
  canRestore: boolean;
  onRestore: (version: ScriptVersion) => void;
  onClose: () => void;
}) {
  const versions = useScriptVersions(projectId, revision);
  const now = useNow(30_000);
  const [chosenId, setChosenId] = useState<number | null>(null);
  const list = versions.data ?? [];
  const chosen = list.find((version) => version.id === chosenId) ?? list[0];

  return (
    <Dialog open onClose={onClose} aria-labelledby="script-history-title" fullWidth maxWidth="md">
      <DialogTitle id="script-history-title">Startup script history</DialogTitle>
      <DialogContent dividers>
        {versions.isPending && <CircularProgress size={24} aria-label="Loading versions" />}
        {versions.isError && (
          <Typography color="error">Could not load the history: {versions.error.message}</Typography>
        )}
        {versions.isSuccess && list.length === 0 && <Typography>No saved versions yet.</Typography>}
        {chosen && (
          <Stack direction={{ xs: "column", md: "row" }} spacing={2}>
            <List dense aria-label="Saved versions" sx={{ minWidth: 240, maxHeight: 400, overflow: "auto" }}>
              {list.map((version, index) => (
                <ListItem key={version.id} disablePadding>
                  <ListItemButton
                    selected={version.id === chosen.id}
                    aria-current={version.id === chosen.id ? "true" : undefined}
                    onClick={() => setChosenId(version.id)}
                  >
                    <ListItemText
                      primary={
                        <>
                          <RelativeTime iso={version.saved_at}>{formatAgo(version.saved_at, now)}</RelativeTime>
                          {index === 0 ? " · latest" : ""}
                        </>
                      }
                      secondary={`by ${version.saved_by?.name ?? "a former user"}`}
                    />
                  </ListItemButton>
                </ListItem>
              ))}
            </List>
            <Box
              component="pre"
              aria-label="The chosen version"
              tabIndex={0}
              sx={{
                flex: 1,
                m: 0,
                p: 1.5,
                border: 1,
                borderColor: "divider",
                borderRadius: 2,
                overflow: "auto",
                maxHeight: 400,
                fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace",
                fontSize: 14,
              }}
            >
              {chosen.startup_script}
            </Box>
          </Stack>
        )}
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Close</Button>
        {canRestore && chosen && (
          <Button variant="contained" disabled={chosen.startup_script === current} onClick={() => onRestore(chosen)}>
            {chosen.startup_script === current ? "This is the current script" : "Restore into the editor"}
          </Button>
        )}
      </DialogActions>
    </Dialog>
  );
}
