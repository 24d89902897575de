// Project changes, for the open event streams of this process. Changes are announced by the
// database itself (every changing statement NOTIFYs `prewarm_project` with the project's ID and
// revision), so a browser connected to any BFF process hears of changes made through any other.
// Each announced project is read once and handed to every subscriber of it.
import { type Project, projectChannel } from "./store/project-rows.ts";
import type { ProjectStore } from "./store/project-store.ts";
import type { SqlClient } from "./store/sql-client.ts";

type Listener = (project: Project) => void;

export class ProjectEvents {
  private readonly store: ProjectStore;
  private readonly sql: SqlClient;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly reading = new Map<string, Promise<void>>();
  private readonly stale = new Set<string>();
  private stopListening: (() => Promise<void>) | null = null;

  constructor(store: ProjectStore, sql: SqlClient) {
    this.store = store;
    this.sql = sql;
  }

  async start(): Promise<void> {
    this.stopListening = await this.sql.listen(projectChannel, (payload) => this.announced(payload));
  }

  async stop(): Promise<void> {
    await this.stopListening?.();
    this.stopListening = null;
  }

  subscribe(projectId: string, listener: Listener): () => void {
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

  private announced(payload: string): void {
    // "*": the connection was lost for a while; whatever anyone watches may have changed.
    const ids = payload === "*" ? [...this.listeners.keys()] : [payload.slice(0, payload.lastIndexOf(":"))];
    for (const id of ids) if (this.listeners.has(id)) this.read(id);
  }

  /** Reads the project and tells its subscribers; a change announced meanwhile reads it again. */
  private read(projectId: string): void {
    if (this.reading.has(projectId)) {
      this.stale.add(projectId);
      return;
    }
    const work = this.store
      .getProject(projectId)
      .then((project) => {
        if (project) for (const listener of this.listeners.get(projectId) ?? []) listener(project);
      })
      .catch(() => undefined)
      .finally(() => {
        this.reading.delete(projectId);
        if (this.stale.delete(projectId)) this.read(projectId);
      });
    this.reading.set(projectId, work);
  }
}
