// Session Docker directories: a copy of the project's golden (or empty) that a session's Docker
// daemon uses as its data root. Invariant: a session directory appears under sessions/ only
// complete (it is staged in tmp/ and renamed into place), and its copy is of one pinned
// generation, so it always equals exactly one complete golden.
import { mkdir, readFile, rename } from "node:fs/promises";
import path from "node:path";
import type { components } from "@prewarm/api-types/sandbox";
import { ProblemError } from "@prewarm/service-kit/problem";
import type { EventBus } from "../events/event-bus.ts";
import { copyTree } from "../fs/copy-tree.ts";
import { fsyncDir, removeTree, writeFileAtomic } from "../fs/durable.ts";
import type { Goldens } from "../golden/goldens.ts";
import type { SandboxLayout } from "../layout.ts";

export type Session = components["schemas"]["Session"];

export class Sessions {
  private readonly preparing = new Set<string>();

  constructor(
    private readonly layout: SandboxLayout,
    private readonly goldens: Goldens,
    private readonly bus: EventBus,
  ) {}

  async prepare(sessionId: string, projectId: string): Promise<Session> {
    const finalDir = this.layout.sessionDir(sessionId);
    if (this.preparing.has(sessionId) || (await this.read(sessionId))) {
      throw new ProblemError(409, "session_exists", `Session ${sessionId} already has a Docker directory`);
    }
    this.preparing.add(sessionId);
    const staging = this.layout.tmpPath(`session-${sessionId}`);
    try {
      await mkdir(staging, { recursive: true });
      const pinned = await this.goldens.pinCurrent(projectId);
      let session: Session;
      try {
        session = {
          session_id: sessionId,
          project_id: projectId,
          docker_dir: path.join(finalDir, "docker"),
          source: pinned ? "golden" : "empty",
          golden_build_id: pinned?.meta.build_id ?? null,
          size_bytes: pinned?.meta.size_bytes ?? 0,
        };
        if (pinned) await copyTree(pinned.dockerDir, path.join(staging, "docker"));
        else await mkdir(path.join(staging, "docker"));
      } finally {
        await pinned?.release();
      }
      await writeFileAtomic(path.join(staging, "session.json"), `${JSON.stringify(session)}\n`);
      await mkdir(this.layout.sessionsDir, { recursive: true });
      await rename(staging, finalDir);
      await fsyncDir(this.layout.sessionsDir);
      this.bus.publish({ type: "session", reason: "prepared", session });
      return session;
    } catch (error) {
      await removeTree(staging);
      throw error;
    } finally {
      this.preparing.delete(sessionId);
    }
  }

  async get(sessionId: string): Promise<Session> {
    const session = await this.read(sessionId);
    if (!session) throw new ProblemError(404, "session_not_found", `Session ${sessionId} has no Docker directory`);
    return session;
  }

  /** Idempotent; moves the directory out of sessions/ in one step, then deletes it. */
  async remove(sessionId: string): Promise<void> {
    const session = await this.read(sessionId);
    const doomed = this.layout.tmpPath(`removed-session-${sessionId}`);
    try {
      await rename(this.layout.sessionDir(sessionId), doomed);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    await removeTree(doomed);
    if (session) this.bus.publish({ type: "session", reason: "removed", session });
  }

  private async read(sessionId: string): Promise<Session | null> {
    try {
      const text = await readFile(path.join(this.layout.sessionDir(sessionId), "session.json"), "utf8");
      return JSON.parse(text) as Session;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
  }
}
