// The sandbox hosts as this BFF process sees them: for each registered host a client (the one
// typed door, sandbox-client.ts) and its reachability, kept in step with the database. Every
// change of the fleet NOTIFYs `prewarm_fleet` (store/sandbox-hosts.ts), and a lost connection
// reads it all again, so every process sends work to the same hosts. Hosts reach the rest of the
// BFF through here only; their tokens never leave the BFF but to another host (replication), and
// their URLs only to operators.
import type { Logger } from "../logger.ts";
import { fleetChannel, type SandboxHostRow, type SandboxHosts } from "../store/sandbox-hosts.ts";
import type { SqlClient } from "../store/sql-client.ts";
import { SandboxClient, withoutAddresses } from "./sandbox-client.ts";
import { SandboxHealth, type SandboxStatus } from "./sandbox-health.ts";

export interface FleetHost extends SandboxHostRow {
  hasToken: boolean;
  client: SandboxClient;
  health: SandboxHealth;
}

export interface FleetWatcher {
  added(host: FleetHost): void;
  removed(host: FleetHost): void;
}

export const noHostDetail =
  "No sandbox host is registered: set SANDBOX_URL, or add one with `npm run admin -- sandbox add`.";

export const allDrainingDetail = "Every sandbox host is draining: new builds and sessions wait for an active one.";

export class Fleet {
  private readonly registry: SandboxHosts;
  private readonly sql: SqlClient;
  private readonly logger: Logger;
  private readonly hosts = new Map<string, FleetHost>();
  /** Tokens and URLs as last read, to know when a host's client must be made again. */
  private readonly reach = new Map<string, string>();
  private readonly watchers = new Set<FleetWatcher>();
  private readonly changeListeners = new Set<() => void>();
  /** The fleet's reachability as one: reachable while any host is. */
  private readonly overall = new SandboxHealth();
  private reading: Promise<void> | null = null;
  private again = false;
  private stopListening: (() => Promise<void>) | null = null;

  constructor(deps: { registry: SandboxHosts; sql: SqlClient; logger: Logger }) {
    this.registry = deps.registry;
    this.sql = deps.sql;
    this.logger = deps.logger;
  }

  async start(): Promise<void> {
    this.stopListening = await this.sql.listen(fleetChannel, () => void this.reload());
    await this.reload();
  }

  async stop(): Promise<void> {
    await this.stopListening?.();
    this.stopListening = null;
    await this.reading;
  }

  all(): FleetHost[] {
    return [...this.hosts.values()];
  }

  get(id: string | null): FleetHost | undefined {
    return id === null ? undefined : this.hosts.get(id);
  }

  byLabel(label: string): FleetHost | undefined {
    return this.all().find((host) => host.label === label);
  }

  /** Every host's reachability as one, for the page's banner and /readyz. */
  status(): SandboxStatus {
    return this.overall.status();
  }

  subscribe(listener: (status: SandboxStatus) => void): () => void {
    return this.overall.subscribe(listener);
  }

  /** Hears each host added to and removed from this process's fleet; told of the hosts already there. */
  watch(watcher: FleetWatcher): () => void {
    this.watchers.add(watcher);
    for (const host of this.hosts.values()) watcher.added(host);
    return () => this.watchers.delete(watcher);
  }

  /** Hears every change of the fleet as users see it: a host added, removed, drained, reached or lost. */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Reads the fleet again; a change announced while reading reads it once more after. */
  reload(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = (async () => {
      do {
        this.again = false;
        try {
          this.apply(await this.registry.list());
        } catch (error) {
          this.logger.warn({ error: String(error) }, "could not read the sandbox hosts");
        }
      } while (this.again);
    })().finally(() => {
      this.reading = null;
    });
    return this.reading;
  }

  private apply(rows: SandboxHostRow[]): void {
    const seen = new Set(rows.filter((row) => !row.token_unreadable).map((row) => row.id));
    for (const [id, host] of this.hosts) {
      const row = rows.find((r) => r.id === id);
      if (!seen.has(id) || this.reach.get(id) !== reachKey(row)) this.remove(host);
    }
    for (const row of rows) {
      if (row.token_unreadable) {
        this.logger.warn(
          { sandbox: row.label },
          "cannot open this sandbox host's token (sealed with another key: WEBHOOK_SECRET_KEY differs); the host is not used",
        );
        continue;
      }
      const known = this.hosts.get(row.id);
      if (known) {
        Object.assign(known, { label: row.label, state: row.state, from_environment: row.from_environment });
        continue;
      }
      const host: FleetHost = {
        ...row,
        hasToken: row.token !== null,
        client: new SandboxClient(row.url, row.token),
        health: new SandboxHealth(),
      };
      host.health.subscribe(() => this.summarise());
      this.hosts.set(row.id, host);
      this.reach.set(row.id, reachKey(row));
      for (const watcher of this.watchers) watcher.added(host);
    }
    this.summarise();
  }

  private remove(host: FleetHost): void {
    this.hosts.delete(host.id);
    this.reach.delete(host.id);
    for (const watcher of this.watchers) watcher.removed(host);
  }

  private summarise(): void {
    const hosts = this.all();
    const down = hosts.filter((host) => !host.health.status().reachable);
    const active = hosts.filter((host) => host.state === "active");
    if (hosts.length === 0) this.overall.unreachable(noHostDetail);
    else if (active.length === 0) this.overall.unreachable(allDrainingDetail);
    // Builds and sessions go to the active hosts that can be reached: one host down is the fleet
    // view's to show (docker-cache/project-sandboxes.ts), not a reason to stop everything.
    else if (active.some((host) => host.health.status().reachable)) this.overall.reachable();
    else {
      // Said to every user (and to /readyz): no address of a host, only its label.
      const detail = (host: FleetHost) => withoutAddresses(host.health.status().detail ?? "no answer");
      this.overall.unreachable(
        hosts.length === 1 ? detail(down[0] as FleetHost) : down.map((h) => `${h.label}: ${detail(h)}`).join("; "),
      );
    }
    const docker = hosts.map((host) => host.health.status().docker).find((known) => known !== null);
    if (docker) this.overall.docker(docker);
    for (const listener of this.changeListeners) listener();
  }
}

function reachKey(row: SandboxHostRow | undefined): string {
  return row ? JSON.stringify([row.url, row.token]) : "";
}
