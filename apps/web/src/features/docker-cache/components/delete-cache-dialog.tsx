// Deleting the cache costs every new session a full rebuild until the next build; ask first.
import Button from "@mui/material/Button";
import Dialog from "@mui/material/Dialog";
import DialogActions from "@mui/material/DialogActions";
import DialogContent from "@mui/material/DialogContent";
import DialogContentText from "@mui/material/DialogContentText";
import DialogTitle from "@mui/material/DialogTitle";
import { formatSize } from "../../../lib/format.ts";

export default function DeleteCacheDialog({
  sizeBytes,
  onCancel,
  onConfirm,
}: {
  sizeBytes: number;
  onCancel: () => void;
  onConfirm: () => void;
}) {
  return (
    <Dialog open onClose={onCancel} aria-labelledby="delete-cache-title">
      <DialogTitle id="delete-cache-title">Delete the Docker cache?</DialogTitle>
      <DialogContent>
        <DialogContentText>
          New sessions will start with an empty Docker directory and rebuild their images until the cache is built again
          {sizeBytes > 0 ? ` (${formatSize(sizeBytes)} will be freed)` : ""}.
        </DialogContentText>
      </DialogContent>
      <DialogActions>
        <Button onClick={onCancel} autoFocus>
          Cancel
        </Button>
        <Button color="error" variant="contained" onClick={onConfirm}>
          Delete cache
        </Button>
      </DialogActions>
    </Dialog>
  );
}
