// How a toast shows. A file of its own so that MUI's Snackbar is loaded with the first toast
// (see toasts.tsx); folded into toasts.tsx, even with Snackbar imported lazily there, the page's
// first-load JavaScript grows by 1 to 2 kB gzip, as the bundler then groups the shared MUI
// modules differently. It knows nothing of the queue, so only toasts.tsx imports it: no circle.
import Alert, { type AlertColor } from "@mui/material/Alert";
import Snackbar from "@mui/material/Snackbar";

export interface ToastSnackbarProps {
  message: string;
  severity: Extract<AlertColor, "success" | "info" | "error">;
  onDismiss: () => void;
}

export default function ToastSnackbar({ message, severity, onDismiss }: ToastSnackbarProps) {
  return (
    <Snackbar
      open
      autoHideDuration={severity === "error" ? 8000 : 5000}
      onClose={(_, reason) => reason !== "clickaway" && onDismiss()}
      anchorOrigin={{ vertical: "bottom", horizontal: "center" }}
    >
      <Alert onClose={onDismiss} severity={severity} variant="filled" sx={{ width: "100%" }}>
        {message}
      </Alert>
    </Snackbar>
  );
}
