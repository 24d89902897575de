// [Test]: the project's startup script run in an ordinary session, the way an agent session
// would start, to see what the cache saves. The session's Docker directory is prepared from the
// golden exactly as for any session (sessions.ts), then the script runs against it. Nothing is
// promoted and the golden is never written: the session's copy is its own. When the run ends its
// Docker directory is removed; its record and log stay under test-sessions/.
import { mkdir, open, readdir, readFile, rm, writeFile } from "node:fs/promises";
import type { components } from "@prewarm/api-types/sandbox";
import { ProblemError } from "@prewarm/service-kit/problem";
import { streamLog } from "../builds/build-log.ts";
import { CheckoutError, checkout } from "../builds/checkout.ts";
import { describeExit, startStartupScript } from "../builds/startup-script-process.ts";
import { writeFileAtomic } from "../fs/durable.ts";
import type { SandboxLayout } from "../layout.ts";
import type { Sessions } from "./sessions.ts";

export type TestSession = components["schemas"]["TestSession"];
export type StartTestSession = components["schemas"]["StartTestSessionRequest"];

const finished = new Set<TestSession["status"]>(["succeeded", "failed", "stopped", "interrupted"]);

/** Ended runs kept per project, like the builds: their records and logs, newest first. */
export const keptTestSessions = 20;

interface ActiveRun {
  run: TestSession;
  abort: AbortController;
  terminate: (() => void) | null;
  ended: Promise<void>;
}

export class TestSessions {
  private readonly active = new Map<string, ActiveRun>();

  constructor(private readonly deps: { layout: SandboxLayout; sessions: Sessions; stopGraceMs: number }) {}

  /** Starts the run and answers at once; the run goes on in the background. */
  async start(request: StartTestSession): Promise<TestSession> {
    const { layout } = this.deps;
    const id = request.session_id;
    if (this.active.has(id) || (await this.readRecord(id))) {
      throw new ProblemError(409, "test_session_exists", `Session ${id} has run already; use a new session ID`);
    }
    const run: TestSession = {
      session_id: id,
      project_id: request.project_id,
      status: "preparing",
      started_at: new Date().toISOString(),
      finished_at: null,
      prepared: null,
      copied_bytes: 0,
      total_bytes: 0,
      exit_code: null,
      error: null,
    };
    let endRun: () => void = () => {};
    const active: ActiveRun = {
      run,
      abort: new AbortController(),
      terminate: null,
      ended: new Promise<void>((resolve) => {
        endRun = resolve;
      }),
    };
    this.active.set(id, active);
    await mkdir(layout.testSessionDir(id), { recursive: true });
    await writeFile(layout.testSessionLogPath(id), "");
    await this.writeRecord(run);
    void this.execute(active, request).finally(() => {
      this.active.delete(id);
      endRun();
      void this.prune(run.project_id).catch(() => undefined);
    });
    return { ...run };
  }

  async get(sessionId: string): Promise<TestSession> {
    const active = this.active.get(sessionId);
    if (active) {
      // While the Docker directory is copied, its progress is the session's.
      if (active.run.status === "preparing") {
        const session = await this.deps.sessions.get(sessionId).catch(() => null);
        if (session) {
          return { ...active.run, copied_bytes: session.copied_bytes, total_bytes: session.total_bytes };
        }
      }
      return { ...active.run };
    }
    const record = await this.readRecord(sessionId);
    if (!record) throw new ProblemError(404, "test_session_not_found", `No test session ${sessionId}`);
    // A record still saying it runs, with nothing running here, was cut short by a restart.
    if (!finished.has(record.status)) {
      return { ...record, status: "interrupted", error: "Test session interrupted by sandbox restart" };
    }
    return record;
  }

  async stop(sessionId: string): Promise<TestSession> {
    const active = this.active.get(sessionId);
    if (active && !finished.has(active.run.status)) {
      active.run.error = "Stopped";
      active.run.status = "stopped";
      active.abort.abort();
      active.terminate?.();
      await active.ended;
    }
    return this.get(sessionId);
  }

  /** After a restart nothing runs: a run cut short loses its session directory and says why. */
  async recover(): Promise<void> {
    const { layout, sessions } = this.deps;
    for (const name of await readdir(layout.testSessionsDir).catch(() => [] as string[])) {
      const record = await this.readRecord(name).catch(() => null);
      if (!record || finished.has(record.status)) continue;
      await sessions.remove(name).catch(() => undefined);
      await rm(layout.testSessionWorkspaceDir(name), { recursive: true, force: true });
      await this.writeRecord({
        ...record,
        status: "interrupted",
        error: "Test session interrupted by sandbox restart",
        finished_at: new Date().toISOString(),
      });
    }
  }

  /** Removes the project's ended runs beyond the newest `keptTestSessions`. */
  async prune(projectId: string): Promise<string[]> {
    const { layout } = this.deps;
    const ended: TestSession[] = [];
    for (const name of await readdir(layout.testSessionsDir).catch(() => [] as string[])) {
      const record = await this.readRecord(name).catch(() => null);
      if (record?.project_id === projectId && finished.has(record.status) && !this.active.has(name)) ended.push(record);
    }
    ended.sort((a, b) => b.started_at.localeCompare(a.started_at));
    const doomed = ended.slice(keptTestSessions).map((run) => run.session_id);
    for (const id of doomed) await rm(layout.testSessionDir(id), { recursive: true, force: true });
    return doomed;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.active.keys()].map((id) => this.stop(id)));
  }

  async log(sessionId: string, follow: boolean): Promise<ReadableStream<Uint8Array>> {
    await this.get(sessionId);
    const active = this.active.get(sessionId);
    return streamLog({
      path: this.deps.layout.testSessionLogPath(sessionId),
      offset: 0,
      follow,
      ended: active?.ended ?? Promise.resolve(),
    });
  }

  private async execute(active: ActiveRun, request: StartTestSession): Promise<void> {
    const { layout, sessions } = this.deps;
    const { run } = active;
    const id = run.session_id;
    const log = await open(layout.testSessionLogPath(id), "a");
    const say = (text: string) => log.write(`\x1b[2m${text}\x1b[0m\r\n`).catch(() => undefined);
    let prepared = false;
    try {
      const startedPreparing = performance.now();
      const session = await sessions.prepare(id, run.project_id);
      prepared = true;
      run.prepared = {
        source: session.source,
        size_bytes: session.size_bytes,
        seconds: Math.round((performance.now() - startedPreparing) / 10) / 100,
        golden_build_id: session.golden_build_id,
      };
      Object.assign(run, { copied_bytes: session.size_bytes, total_bytes: session.size_bytes });
      await say(
        session.source === "golden"
          ? `Docker data prepared from cache in ${run.prepared.seconds} s (${describeSize(session.size_bytes)})`
          : "No cache: started with an empty Docker directory",
      );
      if (active.abort.signal.aborted) return;
      run.status = "running";
      await this.writeRecord(run);
      await checkout({
        repositoryUrl: request.repository_url,
        branch: request.branch ?? "main",
        workspace: layout.testSessionWorkspaceDir(id),
        logFd: log.fd,
        signal: active.abort.signal,
      });
      await writeFile(layout.testSessionScriptPath(id), request.startup_script, { mode: 0o700 });
      if (active.abort.signal.aborted) return;
      const script = startStartupScript({
        scriptPath: layout.testSessionScriptPath(id),
        workspace: layout.testSessionWorkspaceDir(id),
        logFd: log.fd,
        env: { dockerDir: session.docker_dir, projectId: run.project_id, sessionId: id },
        stopGraceMs: this.deps.stopGraceMs,
      });
      active.terminate = script.terminate;
      if (active.abort.signal.aborted) active.terminate();
      const exit = await script.exited;
      // Stopped: stop() has said so already.
      if (active.abort.signal.aborted) return;
      run.exit_code = exit.code;
      run.status = exit.code === 0 ? "succeeded" : "failed";
      run.error = exit.code === 0 ? null : describeExit(exit.code, exit.signal);
    } catch (error) {
      if (active.abort.signal.aborted) return;
      run.status = "failed";
      run.error =
        error instanceof ProblemError || error instanceof CheckoutError
          ? error.message
          : `Test session failed: ${String(error)}`;
      await say(run.error);
    } finally {
      run.finished_at = new Date().toISOString();
      await log.close().catch(() => undefined);
      // The session's Docker directory was the run's alone; the record and log stay.
      if (prepared) await sessions.remove(id).catch(() => undefined);
      await rm(layout.testSessionWorkspaceDir(id), { recursive: true, force: true }).catch(() => undefined);
      await this.writeRecord(run).catch(() => undefined);
    }
  }

  private async writeRecord(run: TestSession): Promise<void> {
    await writeFileAtomic(this.deps.layout.testSessionRecordPath(run.session_id), `${JSON.stringify(run)}\n`);
  }

  private async readRecord(sessionId: string): Promise<TestSession | null> {
    try {
      return JSON.parse(await readFile(this.deps.layout.testSessionRecordPath(sessionId), "utf8")) as TestSession;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
  }
}

function describeSize(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(1)} GB` : `${Math.round(bytes / 1e6)} MB`;
}
