// Edits not saved yet, wherever they are on the page: leaving the page (closing, reloading) or
// logging out asks first while there are any.
import { useEffect } from "react";

const unsaved = new Set<symbol>();

export function hasUnsavedChanges(): boolean {
  return unsaved.size > 0;
}

/** While `dirty`, the page counts as having unsaved changes. */
export function useUnsavedChangesGuard(dirty: boolean): void {
  useEffect(() => {
    if (!dirty) return;
    const mark = Symbol("unsaved");
    unsaved.add(mark);
    const guard = (event: BeforeUnloadEvent) => {
      event.preventDefault();
      // Older browsers show the prompt only when returnValue is set.
      event.returnValue = "";
    };
    window.addEventListener("beforeunload", guard);
    return () => {
      unsaved.delete(mark);
      window.removeEventListener("beforeunload", guard);
    };
  }, [dirty]);
}
