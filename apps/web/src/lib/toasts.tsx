// Short messages at the bottom of the page. Anything may raise one (the API client raises one
// for every failed change); one Toaster shows them, newest last.
import Alert from "@mui/material/Alert";
import Snackbar from "@mui/material/Snackbar";
import { useEffect, useState } from "react";

export interface Toast {
  id: number;
  message: string;
  severity: "success" | "info" | "error";
}

type Listener = (toast: Toast) => void;
const listeners = new Set<Listener>();
let nextId = 1;

export function showToast(message: string, severity: Toast["severity"] = "info"): void {
  const toast = { id: nextId++, message, severity };
  for (const listener of listeners) listener(toast);
}

export function Toaster() {
  const [queue, setQueue] = useState<Toast[]>([]);
  useEffect(() => {
    const listener: Listener = (toast) => setQueue((q) => [...q, toast]);
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }, []);
  const current = queue[0];
  const dismiss = () => setQueue((q) => q.slice(1));
  return (
    <Snackbar
      key={current?.id}
      open={current !== undefined}
      autoHideDuration={current?.severity === "error" ? 8000 : 5000}
      onClose={(_, reason) => reason !== "clickaway" && dismiss()}
      anchorOrigin={{ vertical: "bottom", horizontal: "center" }}
    >
      <Alert onClose={dismiss} severity={current?.severity ?? "info"} variant="filled" sx={{ width: "100%" }}>
        {current?.message}
      </Alert>
    </Snackbar>
  );
}
