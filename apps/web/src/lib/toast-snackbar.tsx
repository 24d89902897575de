import Alert from "@mui/material/Alert";
import Snackbar from "@mui/material/Snackbar";
import type { Toast } from "./toast.ts";

export default function ToastSnackbar({ toast, onDismiss }: { toast: Toast; onDismiss: () => void }) {
  return (
    <Snackbar
      key={toast.id}
      open
      autoHideDuration={toast.severity === "error" ? 8000 : 5000}
      onClose={(_, reason) => reason !== "clickaway" && onDismiss()}
      anchorOrigin={{ vertical: "bottom", horizontal: "center" }}
    >
      <Alert onClose={onDismiss} severity={toast.severity} variant="filled" sx={{ width: "100%" }}>
        {toast.message}
      </Alert>
    </Snackbar>
  );
}
