// Where a build or a test session runs. A build is placed once, on the first attempt to send it
// (or stop it), and the database keeps the first placement made: every BFF process then sends it
// to that host and no other, so a build still reaches one sandbox exactly once, whose refusal of
// a build ID twice makes sending it again safe.
// The choice: an active host this process can reach that holds the project's golden, the newest
// generation first, for an incremental build or a warm session; else the one with the fewest
// running builds. Draining hosts get nothing new.
import type { Fleet, FleetHost } from "../sandbox/fleet.ts";
import type { Placements } from "../store/placements.ts";
import type { StoredBuild } from "../store/project-rows.ts";

export type Placement = { host: FleetHost } | { host: null; why: string };

/** The host the build was placed on, placing it now if it was not. */
export async function placeBuild(store: Placements, fleet: Fleet, build: StoredBuild): Promise<Placement> {
  const placed = build.host_id ?? (await store.buildHost(build.id));
  if (placed !== null) return recorded(fleet, placed);
  const choice = await choose(store, fleet, build.project_id);
  if (!choice.host) return choice;
  return recorded(fleet, await store.placeBuild(build.id, choice.host.id));
}

/** A host for a new test session of the project. */
export async function placeSession(store: Placements, fleet: Fleet, projectId: string): Promise<Placement> {
  return choose(store, fleet, projectId);
}

async function choose(store: Placements, fleet: Fleet, projectId: string): Promise<Placement> {
  const active = fleet.all().filter((host) => host.state === "active");
  const open = active.filter((host) => host.health.status().reachable);
  if (open.length === 0) {
    if (fleet.all().length === 0) return { host: null, why: "no sandbox host is registered" };
    if (active.length === 0) return { host: null, why: "every sandbox host is draining" };
    return { host: null, why: `no active sandbox host can be reached (${fleet.status().detail ?? "no answer"})` };
  }
  const goldenAt = await store.goldenHosts(projectId);
  const warm = goldenAt.map((id) => open.find((host) => host.id === id)).find((host) => host !== undefined);
  if (warm) return { host: warm };
  const load = await store.runningBuildsByHost();
  const sorted = [...open].sort(
    (a, b) => (load.get(a.id) ?? 0) - (load.get(b.id) ?? 0) || a.label.localeCompare(b.label),
  );
  return { host: sorted[0] as FleetHost };
}

function recorded(fleet: Fleet, hostId: string | null): Placement {
  const host = fleet.get(hostId);
  return host ? { host } : { host: null, why: "the sandbox host it was sent to was removed" };
}
