// Where a build or a test session runs. A build is placed once, on the first attempt to send it
// (or stop it), and the database keeps the first placement made: every BFF process then sends it
// to that host and no other, so a build still reaches one sandbox exactly once, whose refusal of
// a build ID twice makes sending it again safe. A host this process does not know (yet) is not
// taken for a removed one: only a host gone from the database is.
// The choice: among the active hosts this process can reach, those that hold the project's
// newest generation, else an older one (for an incremental build or a warm session), else all;
// of those, one this process has heard from before one never tried (just added, it may never
// answer), then the one with the fewest running builds. Draining hosts get nothing new.
import type { Fleet, FleetHost } from "../sandbox/fleet.ts";
import type { Placements } from "../store/placements.ts";
import type { StoredBuild } from "../store/project-rows.ts";

/** Where to send it; or why not now (`removed`: its host is gone for good). */
export type Placement = { host: FleetHost } | { host: null; removed: boolean; why: string };

/** The host the build was placed on, placing it now if it was not. */
export async function placeBuild(store: Placements, fleet: Fleet, build: StoredBuild): Promise<Placement> {
  const placed = build.host_id ?? (await store.buildHost(build.id));
  if (placed !== null) return located(store, fleet, placed);
  // Sent before there was a fleet, to a host nobody recorded: it cannot be found again.
  if (build.dispatched) return { host: null, removed: true, why: "the sandbox host it was sent to is unknown" };
  const choice = await choose(store, fleet, build.project_id);
  if (!choice.host) return choice;
  const recorded = await store.placeBuild(build.id, choice.host.id);
  if (recorded === null) return { host: null, removed: false, why: "the build has ended" };
  return located(store, fleet, recorded);
}

/** A host for a new test session of the project. */
export async function placeSession(store: Placements, fleet: Fleet, projectId: string): Promise<Placement> {
  return choose(store, fleet, projectId);
}

async function choose(store: Placements, fleet: Fleet, projectId: string): Promise<Placement> {
  const active = fleet.all().filter((host) => host.state === "active");
  const open = active.filter((host) => host.health.status().reachable);
  if (open.length === 0) {
    const why =
      fleet.all().length === 0
        ? "no sandbox host is registered"
        : active.length === 0
          ? "every sandbox host is draining"
          : `no active sandbox host can be reached (${fleet.status().detail ?? "no answer"})`;
    return { host: null, removed: false, why };
  }
  const load = await store.runningBuildsByHost();
  // Hosts heard from before one just added (it may never answer), then the least busy.
  const best = (hosts: FleetHost[]) =>
    [...hosts].sort(
      (a, b) =>
        Number(b.health.tried()) - Number(a.health.tried()) ||
        (load.get(a.id) ?? 0) - (load.get(b.id) ?? 0) ||
        a.label.localeCompare(b.label),
    )[0];
  for (const generation of await store.goldenHosts(projectId)) {
    const warm = best(open.filter((host) => generation.includes(host.id)));
    if (warm) return { host: warm };
  }
  return { host: best(open) as FleetHost };
}

/** The host of that ID: this process's, after reading the fleet again if need be. */
async function located(store: Placements, fleet: Fleet, hostId: string): Promise<Placement> {
  let host = fleet.get(hostId);
  if (!host) {
    await fleet.reload();
    host = fleet.get(hostId);
  }
  if (host) return { host };
  if (await store.hostExists(hostId)) {
    return { host: null, removed: false, why: "its sandbox host cannot be used by this BFF now" };
  }
  return { host: null, removed: true, why: "the sandbox host it was sent to was removed" };
}
