// Whether this BFF can reach the sandbox, as its event stream says: connected means reachable,
// an interrupted stream that cannot reconnect means unreachable. Listeners hear each change once,
// so open browsers can show a banner and take it down by themselves.
import type { components } from "@prewarm/api-types/bff";

export type SandboxStatus = components["schemas"]["SandboxStatus"];

export class SandboxHealth {
  private current: SandboxStatus;
  private readonly listeners = new Set<(status: SandboxStatus) => void>();

  // Until the first connection is tried nothing is known; saying "reachable" avoids a banner
  // flashing at every start.
  constructor(private readonly now: () => Date = () => new Date()) {
    this.current = { reachable: true, since: now().toISOString(), detail: null };
  }

  status(): SandboxStatus {
    return this.current;
  }

  reachable(): void {
    if (!this.current.reachable) this.set({ reachable: true, since: this.now().toISOString(), detail: null });
  }

  unreachable(detail: string): void {
    if (this.current.reachable) this.set({ reachable: false, since: this.now().toISOString(), detail });
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
