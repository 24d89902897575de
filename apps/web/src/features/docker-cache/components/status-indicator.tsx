import Box from "@mui/material/Box";
import CircularProgress from "@mui/material/CircularProgress";
import type { DockerCacheState } from "../../../api/project/get-project.ts";

const dotColor = { none: "text.disabled", ready: "success.main", failed: "error.main" } as const;

/** The dot (or spinner) before the status text; the text itself always says the state too. */
export function StatusIndicator({ status }: { status: DockerCacheState["status"] }) {
  if (status === "building") return <CircularProgress size={14} thickness={5} aria-hidden sx={{ flexShrink: 0 }} />;
  return (
    <Box
      aria-hidden
      data-status-dot={status}
      sx={{ width: 12, height: 12, borderRadius: "50%", bgcolor: dotColor[status], flexShrink: 0 }}
    />
  );
}
