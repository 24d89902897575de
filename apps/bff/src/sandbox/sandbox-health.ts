// Whether this BFF can reach the sandbox, as its event stream says: connected means reachable,
// an interrupted stream that cannot reconnect means unreachable. And whether the sandbox's runs get
// a Docker daemon, as it answers at every connect. Listeners hear each change once, so open
// browsers can show a banner or a notice and take it down by themselves.
import type { components } from "@prewarm/api-types/bff";

export type SandboxStatus = components["schemas"]["SandboxStatus"];
type DockerAvailability = components["schemas"]["DockerAvailability"];

export class SandboxHealth {
  private readonly now: () => Date;
  private current: SandboxStatus;
  private readonly listeners = new Set<(status: SandboxStatus) => void>();

  // Until the first connection is tried nothing is known; saying "reachable" avoids a banner
  // flashing at every start.
  constructor(now: () => Date = () => new Date()) {
    this.now = now;
    this.current = { reachable: true, since: now().toISOString(), detail: null, docker: null };
  }

  private heard = false;

  status(): SandboxStatus {
    return this.current;
  }

  /** Whether a connection has been tried yet: until then "reachable" is a hope, not news. */
  tried(): boolean {
    return this.heard;
  }

  reachable(): void {
    this.heard = true;
    if (!this.current.reachable)
      this.set({ ...this.current, reachable: true, since: this.now().toISOString(), detail: null });
  }

  unreachable(detail: string): void {
    this.heard = true;
    if (this.current.reachable)
      this.set({ ...this.current, reachable: false, since: this.now().toISOString(), detail });
  }

  /** What the sandbox says of its runs' Docker daemons; listeners hear it when any of it changed. */
  docker(docker: DockerAvailability): void {
    const known = this.current.docker;
    const same =
      known !== null &&
      (Object.keys(docker) as (keyof DockerAvailability)[]).every((key) => known[key] === docker[key]);
    if (!same) this.set({ ...this.current, docker });
  }

  subscribe(listener: (status: SandboxStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private set(status: SandboxStatus): void {
    this.current = status;
    for (const listener of this.listeners) listener(status);
  }
}
