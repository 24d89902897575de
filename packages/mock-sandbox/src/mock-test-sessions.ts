// The mock sandbox's test sessions ([Test] sessions): started as the real service would (preparing
// from the golden when there is one, at once empty otherwise), then moved on by the test:
// copy progress, the end of the preparation, output, and the script's exit.
import type { components } from "@prewarm/api-types/sandbox";
import { MockSandboxError } from "./mock-error.ts";
import { MockLog } from "./mock-log.ts";

export type TestSession = components["schemas"]["TestSession"];
type StartTestSessionRequest = components["schemas"]["StartTestSessionRequest"];

const ended = new Set<TestSession["status"]>(["succeeded", "failed", "stopped", "interrupted"]);

/** What test sessions learn from the rest of the mock sandbox. */
interface SandboxSide {
  goldenSize: (projectId: string) => number | null;
  /** The build that made the project's golden, which a session prepared from it names. */
  goldenBuild: (projectId: string) => string | null;
  /** The daemon a session gets once its Docker data is prepared. */
  engineUsed: () => TestSession["docker_engine"];
  /** Throws while the sandbox refuses runs. */
  refuseRuns: () => void;
}

export class MockTestSessions {
  private readonly sandbox: SandboxSide;
  private runs = new Map<string, { run: TestSession; log: MockLog; request: StartTestSessionRequest }>();

  constructor(sandbox: SandboxSide) {
    this.sandbox = sandbox;
  }

  reset(): void {
    for (const { log } of this.runs.values()) log.wake();
    this.runs = new Map();
  }

  start(request: StartTestSessionRequest): TestSession {
    this.sandbox.refuseRuns();
    if (this.runs.has(request.session_id)) {
      throw new MockSandboxError(409, "test_session_exists", `Session ${request.session_id} has run already`);
    }
    const size = this.sandbox.goldenSize(request.project_id);
    const run: TestSession = {
      session_id: request.session_id,
      project_id: request.project_id,
      status: size === null ? "running" : "preparing",
      started_at: new Date().toISOString(),
      finished_at: null,
      prepared:
        size === null
          ? { source: "empty", size_bytes: 0, seconds: 0, golden_build_id: null, golden_unusable: null }
          : null,
      copied_bytes: 0,
      total_bytes: size ?? 0,
      exit_code: null,
      error: null,
      // Without a golden to copy, the script (and its daemon) start at once.
      docker_engine: size === null ? this.sandbox.engineUsed() : null,
    };
    this.runs.set(run.session_id, { run, log: new MockLog(), request });
    return { ...run };
  }

  get(sessionId: string): TestSession | null {
    const found = this.runs.get(sessionId);
    return found ? { ...found.run } : null;
  }

  /** What the BFF asked to run (the script, the branch). */
  request(sessionId: string): StartTestSessionRequest | null {
    return this.runs.get(sessionId)?.request ?? null;
  }

  latest(projectId: string): TestSession | null {
    const mine = [...this.runs.values()].filter((found) => found.run.project_id === projectId);
    const last = mine[mine.length - 1];
    return last ? { ...last.run } : null;
  }

  /** Copy progress, or with `seconds` the end of the preparation (then the script runs). */
  prepare(sessionId: string, options: { copiedBytes?: number; seconds?: number }): TestSession {
    const found = this.require(sessionId);
    if (options.copiedBytes !== undefined) found.run.copied_bytes = options.copiedBytes;
    if (options.seconds !== undefined) {
      Object.assign(found.run, {
        status: "running",
        copied_bytes: found.run.total_bytes,
        prepared: {
          source: "golden",
          size_bytes: found.run.total_bytes,
          seconds: options.seconds,
          golden_build_id: this.sandbox.goldenBuild(found.run.project_id) ?? "bld_golden",
          golden_unusable: null,
        },
        docker_engine: this.sandbox.engineUsed(),
      });
    }
    return { ...found.run };
  }

  emitLog(sessionId: string, text: string): void {
    this.require(sessionId).log.append(text);
  }

  finish(sessionId: string, exitCode: number): TestSession {
    const found = this.require(sessionId);
    Object.assign(found.run, {
      status: exitCode === 0 ? "succeeded" : "failed",
      exit_code: exitCode,
      error: exitCode === 0 ? null : `Startup script exited with code ${exitCode}`,
      finished_at: new Date().toISOString(),
    });
    found.log.wake();
    return { ...found.run };
  }

  stop(sessionId: string): TestSession | null {
    const found = this.runs.get(sessionId);
    if (!found) return null;
    if (!ended.has(found.run.status)) {
      Object.assign(found.run, { status: "stopped", error: "Stopped", finished_at: new Date().toISOString() });
      found.log.wake();
    }
    return { ...found.run };
  }

  /** The log so far; when following, what comes until the run ends. */
  logStream(sessionId: string, follow: boolean): ReadableStream<Uint8Array> | null {
    const found = this.runs.get(sessionId);
    return found
      ? found.log.stream(follow, () => !ended.has(found.run.status) && this.runs.get(sessionId) === found)
      : null;
  }

  private require(sessionId: string) {
    const found = this.runs.get(sessionId);
    if (!found) throw new MockSandboxError(404, "test_session_not_found", `No test session ${sessionId}`);
    return found;
  }
}
