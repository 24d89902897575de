// The project's cache on each sandbox host, shown when there is more than one: which generation
// each holds (its commit, and how far behind main), how a replication to it stands and what its
// sessions start from meanwhile, why one failed, and hosts that cannot be reached, shown as such
// rather than left out. Hosts are named by their labels only.
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import Typography from "@mui/material/Typography";
import type { ProjectSandbox } from "../../../api/project/get-project-sandboxes.ts";
import { formatSize } from "../../../lib/format.ts";

const percent = (progress: number) => `${Math.floor(progress * 100)}%`;

/**
 * "Ready on 3 of 4 sandboxes": of the active hosts (draining ones take no new sessions), those that
 * can be reached and hold the newest cache; then what is on its way, and what cannot be reached.
 */
export function fleetSummary(sandboxes: ProjectSandbox[]): { ready: string; more: string[] } {
  const active = sandboxes.filter((each) => each.state === "active");
  const ready = active.filter((each) => each.reachable && each.golden?.state === "ready" && each.golden.newest).length;
  const replicating = sandboxes
    .filter((each) => each.reachable && each.golden?.state === "replicating")
    .map((each) => `${each.label}, ${percent(each.golden?.progress ?? 0)}`);
  const unreachable = sandboxes.filter((each) => !each.reachable).map((each) => each.label);
  return {
    ready: `Ready on ${ready} of ${active.length} sandboxes`,
    more: [
      ...(replicating.length > 0 ? [`replicating to ${replicating.join(" and ")}`] : []),
      ...(unreachable.length > 0 ? [`${unreachable.join(", ")} cannot be reached`] : []),
    ],
  };
}

const mergesBehind = (behind: number) => (behind > 0 ? ` (${behind} merge${behind === 1 ? "" : "s"} behind main)` : "");

function standing(sandbox: ProjectSandbox): string {
  if (!sandbox.reachable) return "Cannot be reached";
  const golden = sandbox.golden;
  if (!golden) return "No cache";
  // While a newer cache is on its way (or failed to come), sessions there start from the one it holds.
  const held = golden.held
    ? `sessions start from ${golden.held.commit_sha?.slice(0, 7) ?? "an older cache"}${mergesBehind(golden.held.merges_behind)}`
    : null;
  if (golden.state === "replicating")
    return `Replicating, ${percent(golden.progress)}${held ? `; ${held} meanwhile` : ""}`;
  if (golden.state === "failed") return `Replication failed; tried again later${held ? `. Meanwhile ${held}` : ""}`;
  if (golden.newest) return "Ready";
  return `Ready, an older cache${mergesBehind(golden.merges_behind)}`;
}

export function CacheSandboxes({ sandboxes }: { sandboxes: ProjectSandbox[] }) {
  return (
    <Table size="small" aria-label="The cache on each sandbox" sx={{ mt: 1 }}>
      <TableHead>
        <TableRow>
          <TableCell>Sandbox</TableCell>
          <TableCell>Commit</TableCell>
          <TableCell align="right">Size</TableCell>
          <TableCell>State</TableCell>
          <TableCell>Last error</TableCell>
        </TableRow>
      </TableHead>
      <TableBody>
        {sandboxes.map((sandbox) => (
          <TableRow key={sandbox.label} data-testid={`sandbox-${sandbox.label}`}>
            <TableCell component="th" scope="row">
              {sandbox.label}
              {sandbox.state === "draining" && (
                <Typography component="span" variant="body2" color="text.secondary">
                  {" "}
                  (draining)
                </Typography>
              )}
            </TableCell>
            <TableCell sx={{ fontFamily: "monospace" }}>{sandbox.golden?.commit_sha?.slice(0, 7) ?? "—"}</TableCell>
            <TableCell align="right" sx={{ whiteSpace: "nowrap" }}>
              {sandbox.golden && sandbox.golden.size_bytes > 0 ? formatSize(sandbox.golden.size_bytes) : "—"}
            </TableCell>
            <TableCell sx={{ color: sandbox.reachable ? undefined : "warning.main" }}>{standing(sandbox)}</TableCell>
            <TableCell sx={{ wordBreak: "break-word" }}>{sandbox.golden?.error ?? "—"}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}
