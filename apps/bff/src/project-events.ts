// Project changes, fanned out to every open event stream of this process.
import type { Project } from "./store/project-store.ts";

type Listener = (project: Project) => void;

export class ProjectEvents {
  private readonly listeners = new Map<string, Set<Listener>>();

  publish(project: Project): void {
    for (const listener of this.listeners.get(project.id) ?? []) listener(project);
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
}
