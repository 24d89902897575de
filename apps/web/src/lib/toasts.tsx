// Short messages at the bottom of the page. Anything may raise one (the API client raises one
// for every failed change); one Toaster shows them, newest last. The snackbar itself is loaded
// with the first message, so a visit without one does not pay for it.
import { lazy, Suspense, useEffect, useState } from "react";
import type { ToastSnackbarProps } from "./toast-snackbar.tsx";

interface Toast {
  id: number;
  message: string;
  severity: ToastSnackbarProps["severity"];
}

type Listener = (toast: Toast) => void;
const listeners = new Set<Listener>();
let nextId = 1;

const ToastSnackbar = lazy(() => import("./toast-snackbar.tsx"));

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
  if (!current) return null;
  return (
    <Suspense fallback={null}>
      {/* Keyed by the toast, so each one gets its own time on screen. */}
      <ToastSnackbar
        key={current.id}
        message={current.message}
        severity={current.severity}
        onDismiss={() => setQueue((q) => q.slice(1))}
      />
    </Suspense>
  );
}
