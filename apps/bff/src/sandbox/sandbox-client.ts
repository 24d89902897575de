// The BFF's one way to the sandbox's golden filesystem service, typed by openapi/sandbox.yaml.
// A sandbox that cannot be reached, or fails, becomes a 502 problem with a stable code of the
// BFF's own; what the sandbox refuses (a conflict, or runs it refuses altogether) keeps its own
// problem code and words. A call made while answering a request carries that request's ID
// (X-Request-Id), so the sandbox's access line names the same request.

import type { components, paths } from "@prewarm/api-types/sandbox";
import { ProblemError } from "@prewarm/service-kit/problem";
import { tryGetContext } from "hono/context-storage";
import createClient from "openapi-fetch";

export type SandboxBuild = components["schemas"]["Build"];
type SandboxGolden = components["schemas"]["GoldenInfo"];
export type SandboxEvent = components["schemas"]["SandboxEvent"];
type StartSandboxBuild = components["schemas"]["StartBuildRequest"];
export type SandboxTestSession = components["schemas"]["TestSession"];
type StartSandboxTestSession = components["schemas"]["StartTestSessionRequest"];
export type SandboxReplication = components["schemas"]["Replication"];
type StartSandboxReplication = components["schemas"]["StartReplicationRequest"];

type Problem = components["schemas"]["Problem"];

export class SandboxClient {
  readonly baseUrl: string;

  private readonly client;

  private readonly authorization: Record<string, string>;

  /** `token`: the sandbox's SANDBOX_TOKEN, sent as a bearer token on every call. */
  constructor(baseUrl: string, token: string | null = null) {
    this.baseUrl = baseUrl;
    this.authorization = token ? { authorization: `Bearer ${token}` } : {};
    // openapi-fetch keeps the fetch it is given; look it up per call so test doubles see requests.
    this.client = createClient<paths>({
      baseUrl,
      headers: this.authorization,
      fetch: (request) => {
        const id = currentRequestId();
        if (id) request.headers.set("x-request-id", id);
        return globalThis.fetch(request);
      },
    });
  }

  /** Whether the sandbox's runs get a Docker daemon of their own, and why not. */
  async docker(): Promise<components["schemas"]["DockerAvailability"]> {
    const { data, error, response } = await this.call(() => this.client.GET("/v1/docker"));
    if (data) return data;
    throw refused("ask about its Docker engine", response.status, error);
  }

  async startBuild(body: StartSandboxBuild): Promise<SandboxBuild> {
    const { data, error, response } = await this.call(() => this.client.POST("/v1/builds", { body }));
    if (data) return data;
    throw refused("start the build", response.status, error);
  }

  /** The build as the sandbox knows it, or null when it has no such build. */
  async getBuild(buildId: string): Promise<SandboxBuild | null> {
    const { data, error, response } = await this.call(() =>
      this.client.GET("/v1/builds/{build_id}", { params: { path: { build_id: buildId } } }),
    );
    if (data) return data;
    if (response.status === 404) return null;
    throw refused("read the build", response.status, error);
  }

  /**
   * Stops a build. Naming its project makes the stop final even for a build the sandbox has
   * not received yet: it will refuse to start it later.
   */
  async stopBuild(buildId: string, projectId?: string): Promise<SandboxBuild | null> {
    const { data, error, response } = await this.call(() =>
      this.client.POST("/v1/builds/{build_id}/stop", {
        params: { path: { build_id: buildId } },
        body: projectId ? { project_id: projectId } : {},
      }),
    );
    if (data) return data;
    if (response.status === 404) return null;
    throw refused("stop the build", response.status, error);
  }

  async startTestSession(body: StartSandboxTestSession): Promise<SandboxTestSession> {
    const { data, error, response } = await this.call(() => this.client.POST("/v1/test-sessions", { body }));
    if (data) return data;
    throw refused("start the test session", response.status, error);
  }

  /** The test session, or null when the sandbox has none of that ID. */
  async getTestSession(sessionId: string): Promise<SandboxTestSession | null> {
    const { data, error, response } = await this.call(() =>
      this.client.GET("/v1/test-sessions/{session_id}", { params: { path: { session_id: sessionId } } }),
    );
    if (data) return data;
    if (response.status === 404) return null;
    throw refused("read the test session", response.status, error);
  }

  async stopTestSession(sessionId: string): Promise<SandboxTestSession | null> {
    const { data, error, response } = await this.call(() =>
      this.client.POST("/v1/test-sessions/{session_id}/stop", { params: { path: { session_id: sessionId } } }),
    );
    if (data) return data;
    if (response.status === 404) return null;
    throw refused("stop the test session", response.status, error);
  }

  async testSessionLog(sessionId: string, follow: boolean, signal?: AbortSignal): Promise<Response | null> {
    const url = `${this.baseUrl}/v1/test-sessions/${encodeURIComponent(sessionId)}/log?follow=${follow}`;
    const response = await this.fetchRaw(url, { headers: this.authorization, signal });
    if (response.status === 404) return null;
    if (!response.ok)
      throw refused("read the test session's log", response.status, await response.json().catch(() => null));
    return response;
  }

  /** Forgets an ended build's record and log on the sandbox. */
  async deleteBuild(buildId: string): Promise<void> {
    const { error, response } = await this.call(() =>
      this.client.DELETE("/v1/builds/{build_id}", { params: { path: { build_id: buildId } } }),
    );
    if (!response.ok) throw refused("forget the build", response.status, error);
  }

  /** Every golden the host holds. */
  async goldens(): Promise<SandboxGolden[]> {
    const { data, error, response } = await this.call(() => this.client.GET("/v1/goldens"));
    if (data) return data.goldens;
    throw refused("list the goldens", response.status, error);
  }

  async getGolden(projectId: string): Promise<SandboxGolden> {
    const { data, error, response } = await this.call(() =>
      this.client.GET("/v1/goldens/{project_id}", { params: { path: { project_id: projectId } } }),
    );
    if (data) return data;
    throw refused("read the golden", response.status, error);
  }

  async deleteGolden(projectId: string): Promise<void> {
    const { error, response } = await this.call(() =>
      this.client.DELETE("/v1/goldens/{project_id}", { params: { path: { project_id: projectId } } }),
    );
    if (!response.ok) throw refused("delete the golden", response.status, error);
  }

  /** Asks the host to fetch the project's golden from another host; answered at once. */
  async startReplication(projectId: string, body: StartSandboxReplication): Promise<SandboxReplication> {
    const { data, error, response } = await this.call(() =>
      this.client.POST("/v1/goldens/{project_id}/replication", { params: { path: { project_id: projectId } }, body }),
    );
    if (data) return data;
    throw refused("start the replication", response.status, error);
  }

  /** The build's log as a byte stream; following it keeps the stream open until the build ends. */
  async buildLog(buildId: string, follow: boolean, signal?: AbortSignal): Promise<Response | null> {
    const url = `${this.baseUrl}/v1/builds/${encodeURIComponent(buildId)}/log?follow=${follow}`;
    const response = await this.fetchRaw(url, { headers: this.authorization, signal });
    if (response.status === 404) return null;
    if (!response.ok) throw refused("read the build log", response.status, await response.json().catch(() => null));
    return response;
  }

  /** The sandbox's event stream, resuming after `lastEventId` when given. */
  async events(lastEventId: string | null, signal: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { ...this.authorization, accept: "text/event-stream" };
    if (lastEventId) headers["last-event-id"] = lastEventId;
    const response = await this.fetchRaw(`${this.baseUrl}/v1/events`, { headers, signal });
    if (!response.ok || !response.body) throw refused("follow events", response.status, null);
    return response;
  }

  private async call<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw unreachable(error);
    }
  }

  private async fetchRaw(url: string, init: RequestInit & { headers: Record<string, string> }): Promise<Response> {
    const id = currentRequestId();
    try {
      return await globalThis.fetch(url, id ? { ...init, headers: { ...init.headers, "x-request-id": id } } : init);
    } catch (error) {
      if ((error as Error).name === "AbortError") throw error;
      throw unreachable(error);
    }
  }
}

/** The ID of the request being answered, when this runs inside one (not in the build monitor). */
function currentRequestId(): string | undefined {
  return tryGetContext<{ Variables: { requestId: string } }>()?.get("requestId");
}

/** The codes of a sandbox that did not answer, or failed: the same call may succeed later. */
const unavailableCode = "sandbox_unavailable";
const failedCode = "sandbox_error";

/**
 * Whether a failed call may succeed if made again later, unchanged: the sandbox could not be
 * reached or failed. Not so for a refusal with a reason of the sandbox's own, which stays.
 */
export function sandboxMayAnswerLater(error: unknown): boolean {
  return !(error instanceof ProblemError) || error.code === unavailableCode || error.code === failedCode;
}

/**
 * Text a host's failure gives, without any address in it: project users see these words, and
 * only operators see where hosts are. URLs, IP addresses and names looked up go.
 */
export function withoutAddresses(text: string): string {
  return text
    .replace(/https?:\/\/[^\s,;)]+/g, "(a sandbox host)")
    .replace(/\b(ENOTFOUND|EAI_AGAIN) \S+/g, "$1")
    .replace(/\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b/g, "(an address)")
    .replace(/\[?\b[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}\]?(?::\d+)?/gi, "(an address)");
}

function unreachable(error: unknown): ProblemError {
  const raw = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : "";
  const cause = withoutAddresses(raw);
  return new ProblemError(
    502,
    unavailableCode,
    `The sandbox could not be reached${cause ? ` (${cause})` : ""}; nothing was changed. Try again in a moment.`,
  );
}

function refused(what: string, status: number, problem: unknown): ProblemError {
  const detail = (problem as Problem | null)?.detail;
  const code = (problem as Problem | null)?.code;
  if (status === 409)
    return new ProblemError(409, code ?? "sandbox_conflict", detail ?? `The sandbox refused to ${what}`);
  // The sandbox refuses every build and test session, with a problem saying why. A 503 without
  // one (a proxy's, say) is a sandbox that failed, to be tried again.
  if (status === 503 && typeof detail === "string") return new ProblemError(502, code ?? "runs_refused", detail);
  return new ProblemError(
    502,
    failedCode,
    `The sandbox could not ${what} (HTTP ${status}${detail ? `: ${detail}` : ""}); nothing was changed.`,
  );
}
