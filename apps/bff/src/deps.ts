import type { BuildOrchestrator } from "./docker-cache/build-orchestrator.ts";
import type { Logger } from "./logger.ts";
import type { ProjectEvents } from "./project-events.ts";
import type { SandboxClient } from "./sandbox/sandbox-client.ts";
import type { ProjectStore } from "./store/project-store.ts";

/** What the HTTP app is built from; tests pass the same parts over a test store and a mock sandbox. */
export interface AppDeps {
  store: ProjectStore;
  orchestrator: BuildOrchestrator;
  events: ProjectEvents;
  sandbox: SandboxClient;
  logger: Logger;
  webDist: string | null;
}
