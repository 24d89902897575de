// [Test]: the project's startup script run in an ordinary session, the way an agent session
// would start, to see what the cache saves. Its lifecycle is a script run's (builds/script-runs.ts);
// what is a test session's own is here: its Docker directory is prepared from the golden exactly
// as for any session (sessions.ts), nothing is promoted and the golden is never written. When the
// run ends its session is removed; its record and log stay under test-sessions/.
import { readdir, rm } from "node:fs/promises";
import type { components } from "@prewarm/api-types/sandbox";
import { ProblemError } from "@prewarm/service-kit/problem";
import prettyBytes from "pretty-bytes";
import { CheckoutError } from "../builds/checkout.ts";
import type { RunPolicy } from "../builds/run-jail.ts";
import { readRunRecord, type ScriptRun, ScriptRuns, writeRunRecord } from "../builds/script-runs.ts";
import { describeExit } from "../builds/startup-script-process.ts";
import type { DockerDaemons } from "../docker/docker-daemon.ts";
import type { SandboxLayout } from "../layout.ts";
import type { Logger } from "../logger.ts";
import type { Sessions } from "./sessions.ts";

type TestSession = components["schemas"]["TestSession"];
export type StartTestSession = components["schemas"]["StartTestSessionRequest"];

const finished = new Set<TestSession["status"]>(["succeeded", "failed", "stopped", "interrupted"]);

/** Ended runs kept per project, like the builds: their records and logs, newest first. */
const keptTestSessions = 20;

const say = (text: string) => `\x1b[2m${text}\x1b[0m\r\n`;

export class TestSessions {
  private readonly deps: {
    layout: SandboxLayout;
    sessions: Sessions;
    daemons: DockerDaemons;
    policy: RunPolicy;
    logger: Logger;
    stopGraceMs: number;
  };
  private readonly runs: ScriptRuns<TestSession>;

  constructor(deps: {
    layout: SandboxLayout;
    sessions: Sessions;
    daemons: DockerDaemons;
    policy: RunPolicy;
    logger: Logger;
    stopGraceMs: number;
  }) {
    this.deps = deps;
    const { layout, sessions } = deps;
    this.runs = new ScriptRuns<TestSession>({
      name: "test session",
      idField: "sessionId",
      logger: deps.logger,
      stopGraceMs: deps.stopGraceMs,
      daemons: deps.daemons,
      policy: deps.policy,
      root: layout.root,
      say,
      paths: {
        dir: (id) => layout.testSessionDir(id),
        record: (id) => layout.testSessionRecordPath(id),
        log: (id) => layout.testSessionLogPath(id),
        daemonLog: (id) => layout.testSessionDaemonLogPath(id),
        workspace: (id) => layout.testSessionWorkspaceDir(id),
        script: (id) => layout.testSessionScriptPath(id),
        tmp: (id) => layout.testSessionTmpDir(id),
      },
      record: (run) => run.view,
      exists: (id) =>
        new ProblemError(409, "test_session_exists", `Session ${id} has run already; use a new session ID`),
      prepare: (run) => this.prepare(run),
      finish: async (_run, exit) =>
        exit.code === 0
          ? { status: "succeeded", exit_code: 0, error: null }
          : { status: "failed", exit_code: exit.code, error: describeExit(exit.code, exit.signal) },
      fail: (run, error) => this.fail(run, error),
      // The session's Docker directory was the run's alone; the record and log stay.
      dispose: async (run) => {
        if (run.view.prepared) await sessions.remove(run.id).catch(() => undefined);
        await rm(layout.testSessionWorkspaceDir(run.id), { recursive: true, force: true }).catch(() => undefined);
        await rm(layout.testSessionTmpDir(run.id), { recursive: true, force: true }).catch(() => undefined);
      },
      ended: async (run) => {
        void this.prune(run.view.project_id).catch(() => undefined);
      },
    });
  }

  /** Starts the run and answers at once; the run goes on in the background. */
  async start(request: StartTestSession): Promise<TestSession> {
    const run = await this.runs.start({
      id: request.session_id,
      request,
      admit: async () => ({
        session_id: request.session_id,
        project_id: request.project_id,
        status: "preparing",
        started_at: new Date().toISOString(),
        finished_at: null,
        prepared: null,
        copied_bytes: 0,
        total_bytes: 0,
        exit_code: null,
        error: null,
        docker_engine: null,
      }),
      env: (dockerDir) => ({ dockerDir, projectId: request.project_id, sessionId: request.session_id }),
      timeoutSeconds: null,
      user: request.run_user,
    });
    return { ...run.view };
  }

  async get(sessionId: string): Promise<TestSession> {
    const run = this.runs.get(sessionId)?.view;
    if (run) {
      // While the Docker directory is copied, its progress is the session's.
      if (run.status === "preparing") {
        const session = await this.deps.sessions.get(sessionId).catch(() => null);
        if (session) return { ...run, copied_bytes: session.copied_bytes, total_bytes: session.total_bytes };
      }
      return { ...run };
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
    await this.runs.stop(sessionId, async () => null);
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
      await rm(layout.testSessionTmpDir(name), { recursive: true, force: true });
      await writeRunRecord(layout.testSessionRecordPath(name), {
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
      if (record?.project_id === projectId && finished.has(record.status) && !this.runs.get(name)) ended.push(record);
    }
    ended.sort((a, b) => b.started_at.localeCompare(a.started_at));
    const doomed = ended.slice(keptTestSessions).map((run) => run.session_id);
    for (const id of doomed) await rm(layout.testSessionDir(id), { recursive: true, force: true });
    return doomed;
  }

  async stopAll(): Promise<void> {
    await this.runs.stopAll();
  }

  async log(sessionId: string, offset: number, follow: boolean): Promise<ReadableStream<Uint8Array>> {
    await this.get(sessionId);
    return this.runs.log(sessionId, offset, follow);
  }

  /** The session's Docker directory, prepared from the golden as for any session. */
  private async prepare(run: ScriptRun<TestSession>): Promise<string> {
    const started = performance.now();
    const session = await this.deps.sessions.prepare(run.id, run.view.project_id);
    const prepared = {
      source: session.source,
      size_bytes: session.size_bytes,
      seconds: Math.round((performance.now() - started) / 10) / 100,
      golden_build_id: session.golden_build_id,
      golden_unusable: session.golden_unusable,
    };
    Object.assign(run.view, { prepared, copied_bytes: session.size_bytes, total_bytes: session.size_bytes });
    await run.write(
      say(
        session.source === "golden"
          ? `Docker data prepared from cache in ${prepared.seconds} s (${prettyBytes(session.size_bytes)})`
          : session.golden_unusable
            ? `Cache not used: ${session.golden_unusable}. Started with an empty Docker directory; the next build replaces the cache`
            : "No cache: started with an empty Docker directory",
      ),
    );
    run.view.status = "running";
    await run.save();
    return session.docker_dir;
  }

  private async fail(run: ScriptRun<TestSession>, error: unknown): Promise<Partial<TestSession>> {
    if (run.stopReason === "shutdown") {
      const message = "Test session interrupted: the sandbox was shut down";
      await run.write(say(message));
      return { status: "interrupted", error: message };
    }
    if (run.stopReason === "disk") {
      const message = `Test session stopped: ${run.diskOverrun}`;
      await run.write(say(message));
      return { status: "failed", error: message };
    }
    if (run.stopReason) return { status: "stopped", error: "Stopped" };
    const message =
      error instanceof ProblemError || error instanceof CheckoutError
        ? error.message
        : `Test session failed: ${String(error)}`;
    await run.write(say(message));
    return { status: "failed", error: message };
  }

  private async readRecord(sessionId: string): Promise<TestSession | null> {
    return readRunRecord<TestSession>(this.deps.layout.testSessionRecordPath(sessionId));
  }
}
