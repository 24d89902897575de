// Follows every running build to a final state: each sandbox host's event stream reports outcomes
// as they happen (and whether the host can be reached), and a periodic reconcile against the
// hosts catches whatever a stream missed; each host's replications are heard and caught up
// the same way (golden-replication.ts). A host added to the fleet is followed from then on; a
// removed one is let go.
import type { Logger } from "../logger.ts";
import type { Fleet, FleetHost } from "../sandbox/fleet.ts";
import { followSandboxEvents } from "../sandbox/sandbox-events.ts";
import type { BuildOrchestrator } from "./build-orchestrator.ts";
import type { GoldenReplication } from "./golden-replication.ts";

interface MonitorDeps {
  orchestrator: BuildOrchestrator;
  replication: GoldenReplication;
  fleet: Fleet;
  logger: Logger;
  reconcileIntervalMs: number;
}

export class BuildMonitor {
  private readonly deps: MonitorDeps;
  private readonly following = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private stopWatching: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(deps: MonitorDeps) {
    this.deps = deps;
  }

  start(): void {
    this.stopWatching = this.deps.fleet.watch({
      added: (host) => this.follow(host),
      removed: (host) => void this.letGo(host.id),
    });
    this.timer = setInterval(() => void this.reconcile(), this.deps.reconcileIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopWatching?.();
    clearInterval(this.timer);
    await Promise.all([...this.following.keys()].map((id) => this.letGo(id)));
  }

  /** Builds against their hosts, then goldens: what hosts owe and lack. */
  async reconcile(host?: FleetHost): Promise<void> {
    // The fleet is read again too, in case a change was not heard of (a lost notice, a failed read).
    if (!host) await this.deps.fleet.reload();
    await this.deps.orchestrator.reconcile().catch((error) => this.warn(error));
    await this.deps.replication.catchUp(host).catch((error) => this.warn(error));
  }

  private follow(host: FleetHost): void {
    const { orchestrator, logger } = this.deps;
    const abort = new AbortController();
    const done = followSandboxEvents(host.client, {
      signal: abort.signal,
      logger: logger.child({ sandbox: host.label }),
      onConnected: async () => {
        host.health.reachable();
        const docker = await host.client.docker().catch((error) => {
          this.warn(error);
          return null;
        });
        if (docker) host.health.docker(docker);
        await this.reconcile(host);
      },
      onDisconnected: (detail) => host.health.unreachable(detail),
      onEvent: async (event) => {
        if (event.type === "build") await orchestrator.settleFromSandbox(event.build).catch((e) => this.warn(e));
        else if (event.type === "golden" && event.reason === "evicted") {
          await orchestrator.goldenEvicted(event.golden.project_id, host).catch((e) => this.warn(e));
        } else if (event.type === "replication") {
          await this.deps.replication.heard(host, event.replication).catch((e) => this.warn(e));
        } else if (event.type === "sync") await this.reconcile(host);
      },
    });
    this.following.set(host.id, { abort, done });
  }

  private async letGo(hostId: string): Promise<void> {
    const followed = this.following.get(hostId);
    if (!followed) return;
    this.following.delete(hostId);
    followed.abort.abort();
    await followed.done;
  }

  private warn(error: unknown): void {
    this.deps.logger.warn({ error: String(error) }, "could not reconcile builds with the sandbox");
  }
}
