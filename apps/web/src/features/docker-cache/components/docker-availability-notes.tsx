// Standing notes on what the sandbox's Docker daemons mean for this project's builds: none at all
// (builds still run the script), a root daemon the operator allows, projects not isolated from each
// other, or builds refused. They describe how the sandbox is set up, not something that just
// happened, so they are notes rather than alerts; the setting's switch is described by them.
import Alert, { type AlertColor } from "@mui/material/Alert";
import type { SandboxStatus } from "../../../api/sandbox/get-sandbox-status.ts";

type DockerAvailability = NonNullable<SandboxStatus["docker"]>;

export interface DockerNote {
  /** The note's element ID, for the switch's aria-describedby. */
  id: string;
  severity: AlertColor;
  text: string;
}

/** The sandbox's own words as the end of a sentence: trimmed, with a full stop. */
function ended(detail: string): string {
  const text = detail.trim();
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** The sandbox's own words ("this sandbox has no Docker engine (…)") as a sentence of their own. */
function asSentence(detail: string): string {
  const text = ended(detail);
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** What is worth saying about the sandbox's Docker daemons; nothing until the BFF has asked. */
export function dockerNotes(docker: DockerAvailability | null): DockerNote[] {
  if (docker === null) return [];
  const detail = docker.detail?.trim() ? docker.detail : null;
  // Builds that never run have no daemon or user to speak of: the refusal is the whole story.
  if (docker.refuses_runs) {
    const text = `This sandbox refuses builds${detail ? `: ${ended(detail)}` : "."}`;
    return [{ id: "sandbox-refuses-runs", severity: "error", text }];
  }
  const notes: DockerNote[] = [];
  if (!docker.available) {
    const text = "This sandbox has no Docker engine: builds run the script without a Docker daemon.";
    notes.push({ id: "no-docker-engine", severity: "info", text: detail ? `${text} ${asSentence(detail)}` : text });
  } else if (docker.rootless === false) {
    notes.push({
      id: "root-docker-daemon",
      severity: "warning",
      text: "Builds on this sandbox use a root Docker daemon, which the operator allows: a startup script can take over the sandbox host.",
    });
  }
  // Under a root daemon, the note above already says more than this one would.
  if (docker.projects_isolated === false && docker.rootless !== false) {
    notes.push({
      id: "projects-not-isolated",
      severity: "warning",
      text: "Projects are not isolated from each other on this sandbox: startup scripts run as the sandbox service's own user.",
    });
  }
  return notes;
}

export function DockerAvailabilityNotes({ notes }: { notes: DockerNote[] }) {
  return (
    <>
      {notes.map((note) => (
        <Alert key={note.id} id={note.id} severity={note.severity} role="note">
          {note.text}
        </Alert>
      ))}
    </>
  );
}
