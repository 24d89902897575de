// The mock sandbox's replications: a project's golden fetched from another host, as the real
// service answers them (at once, `receiving`; asking again for the same generation answers the
// same replication; the generation already here is `promoted` at once), then moved on by the
// test: progress, promotion (the golden is then this host's), failure.
import type { components } from "@prewarm/api-types/sandbox";
import { MockSandboxError } from "./mock-error.ts";

export type Replication = components["schemas"]["Replication"];
type StartReplicationRequest = components["schemas"]["StartReplicationRequest"];

/** What replications learn from, and do to, the rest of the mock sandbox. */
interface SandboxSide {
  goldenBuild: (projectId: string) => string | null;
  promote: (projectId: string, buildId: string, sizeBytes: number) => void;
  publish: (replication: Replication) => void;
}

const ended = new Set<Replication["state"]>(["promoted", "failed", "cancelled"]);

export class MockReplications {
  private readonly sandbox: SandboxSide;
  private last = new Map<string, { replication: Replication; request: StartReplicationRequest }>();

  constructor(sandbox: SandboxSide) {
    this.sandbox = sandbox;
  }

  reset(): void {
    this.last = new Map();
  }

  /** Answers as the service does: `already` when the generation is the golden here. */
  start(projectId: string, request: StartReplicationRequest): { replication: Replication; already: boolean } {
    const running = this.last.get(projectId);
    if (running && !ended.has(running.replication.state) && running.replication.build_id === request.build_id) {
      return { replication: { ...running.replication }, already: false };
    }
    if (running && !ended.has(running.replication.state)) this.end(projectId, "cancelled", null);
    const already = this.sandbox.goldenBuild(projectId) === request.build_id;
    const now = new Date().toISOString();
    const replication: Replication = {
      project_id: projectId,
      build_id: request.build_id,
      source_url: request.source_url,
      state: already ? "promoted" : "receiving",
      progress: already ? 1 : 0,
      received_bytes: 0,
      size_bytes: 0,
      started_at: now,
      finished_at: already ? now : null,
      error: null,
    };
    this.last.set(projectId, { replication, request });
    if (!already) this.sandbox.publish({ ...replication });
    return { replication: { ...replication }, already };
  }

  get(projectId: string): Replication | null {
    const found = this.last.get(projectId);
    return found ? { ...found.replication } : null;
  }

  /** What the BFF asked for, the source's token included: for tests to check. */
  request(projectId: string): StartReplicationRequest | null {
    return this.last.get(projectId)?.request ?? null;
  }

  /** The golden is deleted (or the service stops it): a running replication ends `cancelled`. */
  cancel(projectId: string): void {
    const found = this.last.get(projectId);
    if (found && !ended.has(found.replication.state)) this.end(projectId, "cancelled", "The golden was deleted");
  }

  progress(projectId: string, progress: number, sizeBytes: number): Replication {
    const found = this.running(projectId);
    Object.assign(found.replication, {
      progress,
      size_bytes: sizeBytes,
      received_bytes: Math.round(sizeBytes * progress),
    });
    this.sandbox.publish({ ...found.replication });
    return { ...found.replication };
  }

  /** Checked and promoted: the generation is this host's golden now. */
  promote(projectId: string, sizeBytes: number): Replication {
    const found = this.running(projectId);
    this.sandbox.promote(projectId, found.replication.build_id, sizeBytes);
    return this.end(projectId, "promoted", null, { progress: 1, size_bytes: sizeBytes, received_bytes: sizeBytes });
  }

  fail(projectId: string, error: string): Replication {
    this.running(projectId);
    return this.end(projectId, "failed", error);
  }

  private running(projectId: string) {
    const found = this.last.get(projectId);
    if (!found || ended.has(found.replication.state)) {
      throw new MockSandboxError(404, "replication_not_found", `No replication of ${projectId} runs`);
    }
    return found;
  }

  private end(
    projectId: string,
    state: Replication["state"],
    error: string | null,
    more: Partial<Replication> = {},
  ): Replication {
    const found = this.running(projectId);
    Object.assign(found.replication, { ...more, state, error, finished_at: new Date().toISOString() });
    this.sandbox.publish({ ...found.replication });
    return { ...found.replication };
  }
}
