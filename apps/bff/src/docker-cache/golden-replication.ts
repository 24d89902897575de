// Build once, replicate: once a golden is promoted on one host, every other active host fetches
// it from a host that holds it (the sandbox's replication: streamed, checked against a manifest,
// promoted with the same atomic switch). The BFF asks, listens to each host's `replication`
// events, and asks again where a host failed, was down, or restarted.
//
// Invariants: a host is asked for a generation only while the database says some host holds it
// and that host owes no deletion of the project's golden; a deletion a host owes is done before
// anything else of the project is sent there; and a golden promoted after its cache was deleted
// is deleted again as soon as it is heard of. So a deleted cache never comes back.
import type { Logger } from "../logger.ts";
import type { Fleet, FleetHost } from "../sandbox/fleet.ts";
import type { SandboxReplication } from "../sandbox/sandbox-client.ts";
import type { HostGoldens } from "../store/host-goldens.ts";

/** How long a replication may go unheard of (no progress, no end) before the host is asked again. */
const quietMs = 60_000;
/** How long after a failed replication the host is asked again. */
const retryMs = 60_000;

export class GoldenReplication {
  private readonly deps: { fleet: Fleet; goldens: HostGoldens; logger: Logger };

  constructor(deps: { fleet: Fleet; goldens: HostGoldens; logger: Logger }) {
    this.deps = deps;
  }

  /** Asks every active host that lacks the project's newest golden to fetch it; `due` hosts are asked whatever they last said. */
  async spread(projectId: string, due?: FleetHost): Promise<void> {
    const { fleet, goldens } = this.deps;
    const held = await goldens.ofProject(projectId);
    const newest = held.find((golden) => golden.state === "ready");
    if (!newest) return;
    const sources = held
      .filter((golden) => golden.state === "ready" && golden.build_id === newest.build_id)
      .map((golden) => fleet.get(golden.host_id))
      .filter((host): host is FleetHost => host?.health.status().reachable === true);
    for (const host of fleet.all()) {
      // A host not tried yet is asked once it connects (catchUp on its reconnect).
      if (host.state !== "active" || !host.health.status().reachable || !host.health.tried()) continue;
      const source = sources.find((candidate) => candidate.id !== host.id);
      const here = held.find((golden) => golden.host_id === host.id);
      if (!source || !this.isDue(here, newest.build_id, host === due)) continue;
      await this.ask(host, source, projectId, newest.build_id).catch((error) =>
        this.deps.logger.warn(
          { projectId, sandbox: host.label, error: String(error) },
          "could not ask for a replication",
        ),
      );
    }
  }

  /**
   * Does what the host owes and asks it for what it lacks; on every reconnect of the host (which
   * also takes stock of what it holds), and periodically for all.
   */
  async catchUp(host?: FleetHost): Promise<void> {
    const hosts = host ? [host] : this.deps.fleet.all();
    for (const each of hosts) {
      if (!each.health.status().reachable) continue;
      for (const projectId of await this.deps.goldens.deletionsOwed(each.id)) await this.deleteOwed(each, projectId);
    }
    if (host?.health.status().reachable) await this.takeStock(host);
    for (const projectId of await this.deps.goldens.lagging(host?.id)) await this.spread(projectId, host);
  }

  /** What a host says of a replication: its progress and end are recorded; a golden nobody wants any more is deleted. */
  async heard(host: FleetHost, replication: SandboxReplication): Promise<void> {
    const recorded = await this.deps.goldens.heard(host.id, replication);
    if (recorded || replication.state !== "promoted") return;
    // Promoted, yet the BFF knows of no golden of the project there (not even another
    // generation): its cache was deleted while this was on its way. It does not stay.
    if (await this.deps.goldens.holds(host.id, replication.project_id)) return;
    this.deps.logger.info(
      { projectId: replication.project_id, sandbox: host.label },
      "deleting a golden promoted after its cache was deleted",
    );
    await this.deps.goldens.deleteOn(host.id, replication.project_id);
    await this.deleteOwed(host, replication.project_id);
  }

  /**
   * Does the deletion of the project's golden the host owes, if it owes one; false when it could
   * not (the host is down), and then nothing else of the project may be sent there.
   */
  async deleteOwed(host: FleetHost, projectId: string): Promise<boolean> {
    const since = await this.deps.goldens.owedSince(host.id, projectId);
    if (since === null) return true;
    try {
      await host.client.deleteGolden(projectId);
    } catch (error) {
      this.deps.logger.warn(
        { projectId, sandbox: host.label, error: String(error) },
        "a golden's deletion waits for its host",
      );
      return false;
    }
    await this.deps.goldens.deletionDone(host.id, projectId, since);
    return true;
  }

  /**
   * What the host holds, set against the records: a golden they do not know of is recorded, or
   * deleted when its cache was deleted after it was made. A host removed while it owed a deletion
   * and added again with its old disk, or a replication promoted while no BFF listened, end here.
   */
  private async takeStock(host: FleetHost): Promise<void> {
    const { goldens, logger } = this.deps;
    const held = await host.client.goldens().catch((error) => {
      logger.warn({ sandbox: host.label, error: String(error) }, "could not list a host's goldens");
      return [];
    });
    const recorded = await goldens.recordedOn(host.id);
    for (const listed of held) {
      // One its daemons cannot open is no cache to start from: left to the host to replace.
      if (!listed.exists || listed.build_id === null || listed.unusable || recorded.has(listed.project_id)) continue;
      // Asked again, as the list may be a moment old (an eviction since is heard of and forgotten).
      const golden = await host.client.getGolden(listed.project_id).catch(() => null);
      if (!golden?.exists || golden.build_id !== listed.build_id) continue;
      const stock = await goldens.account(host.id, { ...golden, build_id: listed.build_id });
      if (stock !== "owed") continue;
      logger.info(
        { projectId: golden.project_id, sandbox: host.label },
        "deleting a golden whose cache was deleted while its host was away",
      );
      await this.deleteOwed(host, golden.project_id);
    }
  }

  private isDue(
    here: { build_id: string; state: string; updated_at: string } | undefined,
    buildId: string,
    forced: boolean,
  ): boolean {
    if (!here || here.build_id !== buildId) return true;
    if (here.state === "ready") return false;
    if (forced) return true;
    const since = Date.now() - Date.parse(here.updated_at);
    return since > (here.state === "failed" ? retryMs : quietMs);
  }

  private async ask(host: FleetHost, source: FleetHost, projectId: string, buildId: string): Promise<void> {
    const { goldens, logger } = this.deps;
    if (!(await this.deleteOwed(host, projectId))) return;
    if (!(await goldens.replicating(host.id, projectId, buildId))) return;
    logger.info({ projectId, buildId, sandbox: host.label, source: source.label }, "asking for a replication");
    try {
      const replication = await host.client.startReplication(projectId, {
        build_id: buildId,
        source_url: source.url,
        source_token: source.token,
        compression: "zstd",
      });
      await this.heard(host, replication);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      await goldens.failed(host.id, projectId, buildId, detail);
    }
  }
}
