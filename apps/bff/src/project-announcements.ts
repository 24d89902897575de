// What a project's open event streams in this process hear of: one thing of the project (the
// project itself, or its cache on each sandbox host), read once per announcement and handed to
// every subscriber of that project. Changes are announced by the database itself: the statements
// that change them NOTIFY a channel with the project's ID first in the payload (`<id>` or
// `<id>:<revision>`), so a browser connected to any BFF process hears of changes made through
// any other. "*" (a connection lost for a while) and `refreshAll` read every watched project.
import type { SqlClient } from "./store/sql-client.ts";

type Listener<T> = (value: T) => void;

export class ProjectAnnouncements<T> {
  private readonly sql: SqlClient;
  private readonly channels: string[];
  private readonly readOne: (projectId: string) => Promise<T | null>;
  private readonly listeners = new Map<string, Set<Listener<T>>>();
  private readonly reading = new Map<string, Promise<void>>();
  private readonly stale = new Set<string>();
  private stopListening: (() => Promise<void>)[] = [];

  constructor(sql: SqlClient, channels: string[], readOne: (projectId: string) => Promise<T | null>) {
    this.sql = sql;
    this.channels = channels;
    this.readOne = readOne;
  }

  async start(): Promise<void> {
    for (const channel of this.channels) {
      this.stopListening.push(await this.sql.listen(channel, (payload) => this.announced(payload)));
    }
  }

  async stop(): Promise<void> {
    for (const stop of this.stopListening.splice(0)) await stop();
  }

  subscribe(projectId: string, listener: Listener<T>): () => void {
    let set = this.listeners.get(projectId);
    if (!set) {
      set = new Set();
      this.listeners.set(projectId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(projectId);
    };
  }

  /** Something every watched project's value depends on changed here (the fleet, for hosts' views). */
  refreshAll(): void {
    for (const id of this.listeners.keys()) this.read(id);
  }

  private announced(payload: string): void {
    if (payload === "*") {
      this.refreshAll();
      return;
    }
    const id = payload.split(":")[0] ?? "";
    if (this.listeners.has(id)) this.read(id);
  }

  /** Reads the value and tells its subscribers; a change announced meanwhile reads it again. */
  private read(projectId: string): void {
    if (this.reading.has(projectId)) {
      this.stale.add(projectId);
      return;
    }
    const work = this.readOne(projectId)
      .then((value) => {
        if (value !== null) for (const listener of this.listeners.get(projectId) ?? []) listener(value);
      })
      .catch(() => undefined)
      .finally(() => {
        this.reading.delete(projectId);
        if (this.stale.delete(projectId)) this.read(projectId);
      });
    this.reading.set(projectId, work);
  }
}
