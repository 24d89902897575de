// The service's event stream. Event IDs increase by one per event and start at a hundred times
// the boot time in milliseconds, so IDs from an earlier run of the service are lower than this
// run's first one (unless it averaged over 100,000 events a second): a client resuming with such
// an ID, or one this run no longer holds, is told to re-sync instead of silently missing events.
import type { components } from "@prewarm/api-types/sandbox";

export type SandboxEvent = components["schemas"]["SandboxEvent"];

export interface SequencedEvent {
  id: number;
  event: SandboxEvent;
}

type Listener = (event: SequencedEvent) => void;

export class EventBus {
  private readonly capacity: number;
  private nextId: number;
  private readonly firstId: number;
  private readonly held: SequencedEvent[] = [];
  private readonly listeners = new Set<Listener>();

  constructor(capacity = 1000, bootId = Date.now() * 100) {
    this.capacity = capacity;
    this.firstId = bootId;
    this.nextId = bootId;
  }

  publish(event: SandboxEvent): SequencedEvent {
    const sequenced = { id: this.nextId++, event };
    this.held.push(sequenced);
    if (this.held.length > this.capacity) this.held.shift();
    for (const listener of this.listeners) listener(sequenced);
    return sequenced;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * What a client that last saw `lastId` has missed: the held events after it, or null when they
   * cannot be told (the ID is from another run, or older than what is held) and it must re-sync.
   */
  since(lastId: number): SequencedEvent[] | null {
    if (lastId < this.firstId - 1 || lastId >= this.nextId) return null;
    const oldestHeld = this.held[0]?.id ?? this.nextId;
    if (lastId < oldestHeld - 1) return null;
    return this.held.filter((e) => e.id > lastId);
  }
}
