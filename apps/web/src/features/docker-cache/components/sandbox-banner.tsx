// A banner while the sandbox cannot be reached: what it means for the person and that the page
// will recover by itself. It goes away on its own when the sandbox is back.
import Alert from "@mui/material/Alert";
import AlertTitle from "@mui/material/AlertTitle";
import { useSandboxStatus } from "../../../api/sandbox/get-sandbox-status.ts";
import { RelativeTime } from "../../../components/relative-time.tsx";
import { formatAgo } from "../../../lib/format.ts";
import { useNow } from "../../../lib/use-now.ts";

export function SandboxBanner() {
  const status = useSandboxStatus();
  const now = useNow();
  if (!status.data || status.data.reachable) return null;
  return (
    <Alert id="sandbox-unreachable" severity="warning" role="alert" sx={{ mt: 2 }}>
      <AlertTitle>The sandbox cannot be reached</AlertTitle>
      Since <RelativeTime iso={status.data.since}>{formatAgo(status.data.since, now)}</RelativeTime>, builds cannot
      start, stop or be deleted; sessions keep the cache they have. This page recovers by itself when the sandbox is
      back.
    </Alert>
  );
}
