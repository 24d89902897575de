import Tooltip from "@mui/material/Tooltip";
import { formatExact } from "../../../lib/format.ts";

/** A relative time ("2h ago") that shows the exact time on hover and to assistive technology. */
export function RelativeTime({ iso, children }: { iso: string; children: string }) {
  return (
    <Tooltip title={formatExact(iso)}>
      <time dateTime={iso}>{children}</time>
    </Tooltip>
  );
}
