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
import { isDiskFull } from "../fs/disk.ts";
import { fsyncDir, removeTree, writeFileAtomic } from "../fs/durable.ts";
import type { Goldens } from "../golden/goldens.ts";
import type { Spares } from "../golden/spares.ts";
import type { SandboxLayout } from "../layout.ts";
import { measuredCopy } from "../metrics.ts";

type Session = components["schemas"]["Session"];

/** Copy progress events are sent at most this often per session, plus the first and the last. */
const progressEveryMs = 250;

export class Sessions {
  private readonly layout: SandboxLayout;
  private readonly goldens: Goldens;
  private readonly spares: Spares;
  private readonly bus: EventBus;
  private readonly preparing = new Map<string, Session>();

  constructor(layout: SandboxLayout, goldens: Goldens, spares: Spares, bus: EventBus) {
    this.layout = layout;
    this.goldens = goldens;
    this.spares = spares;
    this.bus = bus;
  }

  async prepare(sessionId: string, projectId: string): Promise<Session> {
    const finalDir = this.layout.sessionDir(sessionId);
    if (this.preparing.has(sessionId) || (await this.read(sessionId))) {
      throw new ProblemError(409, "session_exists", `Session ${sessionId} already has a Docker directory`);
    }
    const session: Session = {
      session_id: sessionId,
      project_id: projectId,
      status: "preparing",
      docker_dir: path.join(finalDir, "docker"),
      source: "empty",
      golden_build_id: null,
      golden_unusable: null,
      size_bytes: 0,
      copied_bytes: 0,
      total_bytes: 0,
    };
    this.preparing.set(sessionId, session);
    const staging = this.layout.tmpPath(`session-${sessionId}`);
    try {
      await mkdir(staging, { recursive: true });
      const { golden: pinned, unusable } = await this.goldens.pinCurrent(projectId);
      session.golden_unusable = unusable;
      try {
        if (pinned) {
          Object.assign(session, {
            source: "golden",
            golden_build_id: pinned.meta.build_id,
            size_bytes: pinned.meta.size_bytes,
            total_bytes: pinned.meta.size_bytes,
          });
          let lastSent = 0;
          const tookSpare = await this.spares.take(projectId, pinned.meta.build_id, path.join(staging, "docker"));
          if (!tookSpare)
            await measuredCopy("session", () =>
              copyTree(pinned.dockerDir, path.join(staging, "docker"), {
                plan: pinned.plan ?? undefined,
                onProgress: ({ copiedBytes, totalBytes }) => {
                  Object.assign(session, { copied_bytes: copiedBytes, total_bytes: totalBytes });
                  const now = Date.now();
                  if (now - lastSent >= progressEveryMs) {
                    lastSent = now;
                    this.publishProgress(session);
                  }
                },
              }),
            );
          await this.goldens.markUsed(projectId);
        } else {
          await mkdir(path.join(staging, "docker"));
        }
      } finally {
        await pinned?.release();
      }
      Object.assign(session, { status: "ready", copied_bytes: session.total_bytes });
      this.publishProgress(session);
      await writeFileAtomic(path.join(staging, "session.json"), `${JSON.stringify(session)}\n`);
      await mkdir(this.layout.sessionsDir, { recursive: true });
      await rename(staging, finalDir);
      await fsyncDir(this.layout.sessionsDir);
      this.bus.publish({ type: "session", reason: "prepared", session: { ...session } });
      return { ...session };
    } catch (error) {
      await removeTree(staging);
      if (isDiskFull(error)) {
        throw new ProblemError(
          507,
          "disk_full",
          "The sandbox ran out of disk space while copying the golden; the session has no Docker directory",
        );
      }
      throw error;
    } finally {
      this.preparing.delete(sessionId);
    }
  }

  async get(sessionId: string): Promise<Session> {
    const inProgress = this.preparing.get(sessionId);
    if (inProgress) return { ...inProgress };
    const session = await this.read(sessionId);
    if (!session) throw new ProblemError(404, "session_not_found", `Session ${sessionId} has no Docker directory`);
    return session;
  }

  /** Idempotent; moves the directory out of sessions/ in one step, then deletes it. */
  async remove(sessionId: string): Promise<void> {
    if (this.preparing.has(sessionId)) {
      throw new ProblemError(409, "session_preparing", `Session ${sessionId} is still being prepared`);
    }
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

  private publishProgress(session: Session): void {
    this.bus.publish({
      type: "copy",
      session_id: session.session_id,
      project_id: session.project_id,
      copied_bytes: session.copied_bytes,
      total_bytes: session.total_bytes,
    });
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
