// How sizes, times and engines read on the page: "8.7 GB", "3 min ago", "2h ago", "2 days old",
// "Docker 20.10.24+dfsg1 (overlay2, rootless)".
// Relative times are spelled here rather than by Intl.RelativeTimeFormat because its wording
// changes with the browser's CLDR version, and the page's copy should not.
import type { components } from "@prewarm/api-types/bff";
import prettyBytes from "pretty-bytes";

export function formatSize(bytes: number): string {
  return prettyBytes(bytes);
}

/** How long ago `iso` was at `now`: "just now", "3 min", "2h", "5 days". */
export function formatAge(iso: string, now: number): string {
  const seconds = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (seconds < 45) return "just now";
  const minutes = Math.max(1, Math.round(seconds / 60));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h`;
  const days = Math.floor(hours / 24);
  return days === 1 ? "1 day" : `${days} days`;
}

/** "just now", "3 min ago", "2h ago", "5 days ago". */
export function formatAgo(iso: string, now: number): string {
  const age = formatAge(iso, now);
  return age === "just now" ? age : `${age} ago`;
}

/** "12s", "3m 05s", "1h 02m": how long something has been running since `iso`. */
export function formatElapsed(iso: string, now: number): string {
  return formatSeconds((now - Date.parse(iso)) / 1000);
}

/** "12s", "3m 05s", "1h 02m": a duration. */
export function formatSeconds(duration: number): string {
  const seconds = Math.max(0, Math.floor(duration));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m ${String(s).padStart(2, "0")}s`;
  return `${s}s`;
}

/** The exact time, for a tooltip beside a relative one. */
export function formatExact(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

/**
 * The Docker engine that ran a build or test session, and how: "Docker 20.10.24+dfsg1 (overlay2,
 * rootless)" for a daemon of the project's own user, "(overlay2, root daemon)" for one running as
 * root; "No Docker daemon" for a run that ended without one; null while a run's daemon may still
 * be starting.
 */
export function formatDockerEngine(
  engine: components["schemas"]["DockerEngineUsed"] | null,
  ended: boolean,
): string | null {
  if (!engine) return ended ? "No Docker daemon" : null;
  const mode = engine.rootless ? "rootless" : "root daemon";
  return `Docker ${engine.version} (${engine.storage_driver}, ${mode})`;
}
