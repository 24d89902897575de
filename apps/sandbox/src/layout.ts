// Where everything lives under the service's root. Invariant: no path leaves this module unless
// every ID in it matched the ID pattern and the resolved path is inside the root, so no request,
// however hostile, can name a file outside it.
//
//   <root>/goldens/<project>/current                      symlink -> generations/<build>
//   <root>/goldens/<project>/generations/<build>/docker/   the Docker data of one generation
//   <root>/goldens/<project>/generations/<build>/golden.json, copy-plan.json
//   <root>/goldens/<project>/last-used                     its mtime: the last session copy
//   <root>/goldens/<project>/spares/<build>.<uuid>/docker/  ready copies of the current generation
//   <root>/builds/<build>/                                 a running build's work directory
//   <root>/builds/<build>/tmp/                             its /tmp and /var/tmp, in its jail
//   <root>/build-records/<build>.json, <build>.log         a build's state and output, kept
//   <root>/build-records/<build>.dockerd.log              its Docker daemon's own log, kept
//   <root>/sessions/<session>/docker/, session.json        a session's Docker directory
//   <root>/test-sessions/<session>/run.json, log, workspace/   a test session of a startup script
//   <root>/test-sessions/<session>/dockerd.log                  its Docker daemon's own log
//   <root>/test-sessions/<session>/tmp/                         its /tmp while it runs
//   <root>/tmp/                                            staging; anything left here is garbage
import { randomUUID } from "node:crypto";
import path from "node:path";
import { isValidId } from "@prewarm/api-types/contract";
import { invalidId, ProblemError } from "@prewarm/service-kit/problem";

export class SandboxLayout {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  get goldensDir(): string {
    return this.inside("goldens");
  }
  get buildsDir(): string {
    return this.inside("builds");
  }
  get recordsDir(): string {
    return this.inside("build-records");
  }
  get sessionsDir(): string {
    return this.inside("sessions");
  }
  get tmpDir(): string {
    return this.inside("tmp");
  }

  goldenDir(projectId: string): string {
    return this.inside("goldens", id(projectId, "project_id"));
  }
  /** The pointer whose target names the project's current generation. */
  goldenPointer(projectId: string): string {
    return path.join(this.goldenDir(projectId), "current");
  }
  /** An empty file whose mtime says when a session last started from the project's golden. */
  goldenUsageMarker(projectId: string): string {
    return path.join(this.goldenDir(projectId), "last-used");
  }
  /** Ready copies of the current generation, for sessions to take (see golden/spares.ts). */
  sparesDir(projectId: string): string {
    return path.join(this.goldenDir(projectId), "spares");
  }
  generationsDir(projectId: string): string {
    return path.join(this.goldenDir(projectId), "generations");
  }
  generationDir(projectId: string, buildId: string): string {
    return path.join(this.generationsDir(projectId), id(buildId, "build_id"));
  }

  buildDir(buildId: string): string {
    return this.inside("builds", id(buildId, "build_id"));
  }
  /** The build's future generation: promotion renames this directory into the golden. */
  buildGenerationDir(buildId: string): string {
    return path.join(this.buildDir(buildId), "generation");
  }
  buildDockerDir(buildId: string): string {
    return path.join(this.buildGenerationDir(buildId), "docker");
  }
  buildWorkspaceDir(buildId: string): string {
    return path.join(this.buildDir(buildId), "workspace");
  }
  /** The build's own /tmp and /var/tmp while it runs. */
  buildTmpDir(buildId: string): string {
    return path.join(this.buildDir(buildId), "tmp");
  }
  buildScriptPath(buildId: string): string {
    return path.join(this.buildDir(buildId), "startup.sh");
  }
  buildRecordPath(buildId: string): string {
    return this.inside("build-records", `${id(buildId, "build_id")}.json`);
  }
  buildLogPath(buildId: string): string {
    return this.inside("build-records", `${id(buildId, "build_id")}.log`);
  }
  buildDaemonLogPath(buildId: string): string {
    return this.inside("build-records", `${id(buildId, "build_id")}.dockerd.log`);
  }

  sessionDir(sessionId: string): string {
    return this.inside("sessions", id(sessionId, "session_id"));
  }

  get testSessionsDir(): string {
    return this.inside("test-sessions");
  }
  testSessionDir(sessionId: string): string {
    return this.inside("test-sessions", id(sessionId, "session_id"));
  }
  testSessionRecordPath(sessionId: string): string {
    return path.join(this.testSessionDir(sessionId), "run.json");
  }
  testSessionLogPath(sessionId: string): string {
    return path.join(this.testSessionDir(sessionId), "log");
  }
  testSessionDaemonLogPath(sessionId: string): string {
    return path.join(this.testSessionDir(sessionId), "dockerd.log");
  }
  testSessionWorkspaceDir(sessionId: string): string {
    return path.join(this.testSessionDir(sessionId), "workspace");
  }
  /** The run's own /tmp while it runs (builds keep theirs in their work directory). */
  testSessionTmpDir(sessionId: string): string {
    return path.join(this.testSessionDir(sessionId), "tmp");
  }
  testSessionScriptPath(sessionId: string): string {
    return path.join(this.testSessionDir(sessionId), "startup.sh");
  }

  /** A fresh, unique path in tmp/ for staging something before it is renamed into place. */
  tmpPath(label: string): string {
    return this.inside("tmp", `${label}-${randomUUID()}`);
  }

  private inside(...segments: string[]): string {
    const resolved = path.resolve(this.root, ...segments);
    if (resolved !== this.root && !resolved.startsWith(this.root + path.sep)) {
      throw new ProblemError(400, "invalid_path", "The request names a location outside the service's root");
    }
    return resolved;
  }
}

function id(value: string, name: string): string {
  if (!isValidId(value)) throw invalidId(name);
  return value;
}
