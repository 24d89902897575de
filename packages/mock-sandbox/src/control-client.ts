// How an e2e test plays the sandbox's part: a client for the mock sandbox's /__control API.

import type { Replication } from "./mock-replications.ts";
import type { Build, DockerAvailability, FinishOptions, GoldenInfo, StartBuildRequest } from "./mock-sandbox.ts";
import type { TestSession } from "./mock-test-sessions.ts";

export class MockSandboxControl {
  readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl;
  }

  async reset(): Promise<void> {
    await this.send("POST", "/__control/reset");
  }

  async builds(projectId: string): Promise<Build[]> {
    const res = await this.send("GET", `/__control/builds?project_id=${encodeURIComponent(projectId)}`);
    return ((await res.json()) as { builds: Build[] }).builds;
  }

  /** The project's newest build, waiting for the BFF to start one if there is none yet. */
  async latestBuild(projectId: string, timeoutMs = 20_000): Promise<Build> {
    return this.waitForBuild(projectId, () => true, timeoutMs, "no build");
  }

  /** Waits for the BFF to start a build of the project other than `previousId`. */
  async nextBuild(projectId: string, previousId: string, timeoutMs = 20_000): Promise<Build> {
    return this.waitForBuild(projectId, (build) => build.build_id !== previousId, timeoutMs, "no build after");
  }

  /** What the sandbox says of the project's golden (the contract's own GET /v1/goldens/{id}). */
  async golden(projectId: string): Promise<GoldenInfo> {
    return (await (await this.send("GET", `/v1/goldens/${projectId}`)).json()) as GoldenInfo;
  }

  private async waitForBuild(
    projectId: string,
    wanted: (build: Build) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<Build> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const last = (await this.builds(projectId)).at(-1);
      if (last && wanted(last)) return last;
      if (Date.now() > deadline) throw new Error(`${what} of ${projectId} reached the mock sandbox in ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async buildRequest(buildId: string): Promise<StartBuildRequest> {
    return (await (await this.send("GET", `/__control/builds/${buildId}/request`)).json()) as StartBuildRequest;
  }

  async emitLog(buildId: string, text: string): Promise<void> {
    await this.send("POST", `/__control/builds/${buildId}/log`, { text });
  }

  async finishBuild(buildId: string, options: FinishOptions = {}): Promise<Build> {
    return (await (await this.send("POST", `/__control/builds/${buildId}/finish`, options)).json()) as Build;
  }

  async setGolden(projectId: string, sizeBytes: number): Promise<void> {
    await this.send("POST", `/__control/goldens/${projectId}`, { size_bytes: sizeBytes });
  }

  /** The project's newest test session, or null. */
  async latestTestSession(projectId: string): Promise<TestSession | null> {
    return (await (
      await this.send("GET", `/__control/test-sessions?project_id=${projectId}`)
    ).json()) as TestSession | null;
  }

  async prepareTestSession(
    sessionId: string,
    options: { copiedBytes?: number; seconds?: number },
  ): Promise<TestSession> {
    return (await (
      await this.send("POST", `/__control/test-sessions/${sessionId}/prepare`, options)
    ).json()) as TestSession;
  }

  async emitTestSessionLog(sessionId: string, text: string): Promise<void> {
    await this.send("POST", `/__control/test-sessions/${sessionId}/log`, { text });
  }

  async finishTestSession(sessionId: string, exitCode: number): Promise<TestSession> {
    return (await (
      await this.send("POST", `/__control/test-sessions/${sessionId}/finish`, { exit_code: exitCode })
    ).json()) as TestSession;
  }

  /** Evicts the project's golden as a host short of disk space would, announcing it. */
  async evictGolden(projectId: string): Promise<void> {
    await this.send("POST", `/__control/goldens/${projectId}/evict`);
  }

  /**
   * What runs get from now on (mockDockerAvailability unless told): a daemon or none, rootless or
   * not, projects isolated or not, or `refuses_runs` with the reason in `detail`. The sandbox
   * restarts with it, as a real one must: its event streams end, and a connected BFF reconnects
   * and asks again.
   */
  async setDocker(docker: DockerAvailability): Promise<void> {
    await this.send("POST", "/__control/docker", docker);
  }

  /** The project's replication to this sandbox, once the BFF has asked for one (waits up to `timeoutMs`). */
  async replication(projectId: string, timeoutMs = 20_000): Promise<Replication> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = (await (
        await this.send("GET", `/__control/replications/${projectId}`)
      ).json()) as Replication | null;
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`No replication of ${projectId} was asked for within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async replicationProgress(projectId: string, progress: number, sizeBytes: number): Promise<Replication> {
    const res = await this.send("POST", `/__control/replications/${projectId}/progress`, {
      progress,
      size_bytes: sizeBytes,
    });
    return (await res.json()) as Replication;
  }

  async promoteReplication(projectId: string, sizeBytes: number): Promise<Replication> {
    const res = await this.send("POST", `/__control/replications/${projectId}/promote`, { size_bytes: sizeBytes });
    return (await res.json()) as Replication;
  }

  /** Ends the project's replication to this sandbox as failed, with `error` as the reason. */
  async failReplication(projectId: string, error: string): Promise<Replication> {
    const res = await this.send("POST", `/__control/replications/${projectId}/fail`, { error });
    return (await res.json()) as Replication;
  }

  async setOnline(online: boolean): Promise<void> {
    await this.send("POST", "/__control/online", { online });
  }

  private async send(method: string, path: string, body?: unknown): Promise<Response> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
    });
    if (!res.ok) throw new Error(`mock sandbox control ${method} ${path}: ${res.status} ${await res.text()}`);
    return res;
  }
}
