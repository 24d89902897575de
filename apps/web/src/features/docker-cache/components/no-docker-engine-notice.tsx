// A standing notice where the sandbox has no Docker engine. Nothing went wrong and nothing is
// blocked (builds and test sessions still run the script, only without a daemon for `docker`),
// so it is a note, not an alert.
import Alert from "@mui/material/Alert";

/** The sandbox's own words ("this sandbox has no Docker engine (…)") as a sentence of the notice. */
function asSentence(detail: string): string {
  const text = detail.trim();
  const capitalised = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capitalised) ? capitalised : `${capitalised}.`;
}

export function NoDockerEngineNotice({ detail }: { detail: string | null }) {
  return (
    <Alert id="no-docker-engine" severity="info" role="note">
      This sandbox has no Docker engine: builds run the script without a Docker daemon.
      {detail?.trim() ? ` ${asSentence(detail)}` : null}
    </Alert>
  );
}
