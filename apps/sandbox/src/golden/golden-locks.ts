// The locking of the golden filesystem service. Invariants:
// 1. Per project, changes to the golden pointer (promote, delete) and the choice of which
//    generation a copy reads happen one at a time, in arrival order (KeyedLocks, keyed by
//    project ID). Per build ID, starting a build and stopping one the service does not know yet
//    happen one at a time (KeyedLocks keyed by build ID, in build/builds.ts), so a stop can never
//    slip between a start's checks and its registration.
// 2. A generation being read (pinned) by a session copy or a build's starting copy is never
//    removed; removal of a pinned generation is deferred until its last reader unpins it
//    (GenerationPins). So a copy always reads one complete generation from start to end.
// Both live in process memory on purpose: after a restart there are no readers, and recovery
// removes every generation the pointer does not name.

export class KeyedLocks {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `work` once every earlier holder of this key's lock has finished. */
  async withLock<T>(projectId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(projectId) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => current);
    this.tails.set(projectId, tail);
    await previous;
    try {
      return await work();
    } finally {
      release();
      if (this.tails.get(projectId) === tail) this.tails.delete(projectId);
    }
  }
}

export class GenerationPins {
  private readonly readers = new Map<string, number>();
  private readonly doomed = new Map<string, () => Promise<void>>();

  pin(generationDir: string): () => Promise<void> {
    this.readers.set(generationDir, (this.readers.get(generationDir) ?? 0) + 1);
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      const left = (this.readers.get(generationDir) ?? 1) - 1;
      if (left > 0) {
        this.readers.set(generationDir, left);
        return;
      }
      this.readers.delete(generationDir);
      const removal = this.doomed.get(generationDir);
      if (removal) {
        this.doomed.delete(generationDir);
        await removal();
      }
    };
  }

  isPinned(generationDir: string): boolean {
    return (this.readers.get(generationDir) ?? 0) > 0;
  }

  /** Removes the generation now, or when its last reader is done. */
  async removeWhenUnpinned(generationDir: string, remove: () => Promise<void>): Promise<void> {
    if (this.isPinned(generationDir)) {
      this.doomed.set(generationDir, remove);
      return;
    }
    await remove();
  }
}
