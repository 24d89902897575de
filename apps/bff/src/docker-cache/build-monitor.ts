// Follows every running build to a final state: the sandbox's event stream reports outcomes as
// they happen, and a periodic reconcile against the sandbox catches whatever the stream missed.
import type { Logger } from "../logger.ts";
import type { SandboxClient } from "../sandbox/sandbox-client.ts";
import { followSandboxEvents } from "../sandbox/sandbox-events.ts";
import type { SandboxHealth } from "../sandbox/sandbox-health.ts";
import type { BuildOrchestrator } from "./build-orchestrator.ts";

export class BuildMonitor {
  private readonly deps: {
    orchestrator: BuildOrchestrator;
    sandbox: SandboxClient;
    logger: Logger;
    reconcileIntervalMs: number;
    health?: SandboxHealth;
  };
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private following: Promise<void> | undefined;

  constructor(deps: {
    orchestrator: BuildOrchestrator;
    sandbox: SandboxClient;
    logger: Logger;
    reconcileIntervalMs: number;
    health?: SandboxHealth;
  }) {
    this.deps = deps;
  }

  start(): void {
    const { orchestrator, sandbox, logger } = this.deps;
    this.following = followSandboxEvents(sandbox, {
      signal: this.abort.signal,
      logger,
      onConnected: async () => {
        this.deps.health?.reachable();
        const docker = await sandbox.docker().catch((error) => {
          this.warn(error);
          return null;
        });
        if (docker) this.deps.health?.docker(docker);
        await this.reconcile();
      },
      onDisconnected: (detail) => this.deps.health?.unreachable(detail),
      onEvent: async (event) => {
        if (event.type === "build") await orchestrator.settleFromSandbox(event.build).catch((e) => this.warn(e));
        else if (event.type === "golden" && event.reason === "evicted") {
          await orchestrator.goldenEvicted(event.golden.project_id).catch((e) => this.warn(e));
        } else if (event.type === "sync") await this.reconcile();
      },
    });
    this.timer = setInterval(() => void this.reconcile(), this.deps.reconcileIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    clearInterval(this.timer);
    await this.following;
  }

  async reconcile(): Promise<void> {
    await this.deps.orchestrator.reconcile().catch((error) => this.warn(error));
  }

  private warn(error: unknown): void {
    this.deps.logger.warn({ error: String(error) }, "could not reconcile builds with the sandbox");
  }
}
