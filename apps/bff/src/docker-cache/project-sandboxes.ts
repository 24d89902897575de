// The project's cache on each sandbox host, as its users see it: hosts by label only (never a
// URL or token, and no address in an error either), each with the generation it holds, fetches
// or failed to fetch, and how far behind main that generation is.
import type { components } from "@prewarm/api-types/bff";
import type { Fleet } from "../sandbox/fleet.ts";
import { withoutAddresses } from "../sandbox/sandbox-client.ts";
import type { HostGoldens } from "../store/host-goldens.ts";

type ProjectSandboxList = components["schemas"]["ProjectSandboxList"];

export async function projectSandboxes(
  deps: { fleet: Fleet; goldens: HostGoldens },
  projectId: string,
): Promise<ProjectSandboxList> {
  const held = await deps.goldens.ofProject(projectId);
  const newest = held.find((golden) => golden.state === "ready")?.build_id ?? null;
  const hosts = deps.fleet.all().sort((a, b) => a.label.localeCompare(b.label));
  return {
    sandboxes: hosts.map((host) => {
      const golden = held.find((each) => each.host_id === host.id);
      return {
        label: host.label,
        state: host.state,
        reachable: host.health.status().reachable,
        golden: golden
          ? {
              state: golden.state,
              build_id: golden.build_id,
              commit_sha: golden.commit_sha,
              merges_behind: golden.merges_behind,
              newest: golden.build_id === newest,
              progress: golden.progress,
              size_bytes: golden.size_bytes,
              error: golden.error === null ? null : withoutHosts(golden.error, deps.fleet),
              updated_at: golden.updated_at,
              held: golden.held && {
                build_id: golden.held.build_id,
                commit_sha: golden.held.commit_sha,
                merges_behind: golden.held.merges_behind,
                size_bytes: golden.held.size_bytes,
              },
            }
          : null,
      };
    }),
  };
}

/** A host's words with every host's URL and address put as its label, or left out. */
function withoutHosts(text: string, fleet: Fleet): string {
  let said = text;
  for (const host of fleet.all()) {
    const url = new URL(host.url);
    said = said.replaceAll(host.url, host.label).replaceAll(url.host, host.label).replaceAll(url.hostname, host.label);
  }
  return withoutAddresses(said);
}
