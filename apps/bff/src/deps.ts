import type { components } from "@prewarm/api-types/bff";
import type { AuthStore } from "./auth/auth-store.ts";
import type { LoginThrottle } from "./auth/login-throttle.ts";
import type { BuildOrchestrator } from "./docker-cache/build-orchestrator.ts";
import type { GoldenReplication } from "./docker-cache/golden-replication.ts";
import type { Logger } from "./logger.ts";
import type { ProjectAnnouncements } from "./project-announcements.ts";
import type { Fleet } from "./sandbox/fleet.ts";
import type { HostGoldens } from "./store/host-goldens.ts";
import type { Placements } from "./store/placements.ts";
import type { Project } from "./store/project-rows.ts";
import type { ProjectStore } from "./store/project-store.ts";
import type { RunUsers } from "./store/run-users.ts";
import type { SandboxHosts } from "./store/sandbox-hosts.ts";

/** What the HTTP app is built from; tests pass the same parts over a test store and a mock sandbox. */
export interface AppDeps {
  store: ProjectStore;
  auth: AuthStore;
  loginThrottle: LoginThrottle;
  orchestrator: BuildOrchestrator;
  /** Each project as it changes, for its open event streams. */
  events: ProjectAnnouncements<Project>;
  /** Each project's cache on every sandbox host as it changes (a golden, the fleet, the project). */
  sandboxViews: ProjectAnnouncements<components["schemas"]["ProjectSandboxList"]>;
  /** The sandbox hosts, each with its client and reachability. */
  fleet: Fleet;
  /** The fleet as the database keeps it, for operators. */
  sandboxHosts: SandboxHosts;
  placements: Placements;
  /** Each host's golden of each project, and deletions hosts owe. */
  goldens: HostGoldens;
  /** Build once, replicate: asks hosts for goldens, and has them do the deletions they owe. */
  replication: GoldenReplication;
  /** Each project's user on the sandbox hosts, allocated once. */
  runUsers: RunUsers;
  logger: Logger;
  webDist: string | null;
  /** Origins besides the request's own host the app is served from (PUBLIC_URL, a dev server). */
  allowedOrigins: readonly string[];
  /** Mark the session cookie Secure even when the request reached the BFF over plain HTTP (TLS ends in front of it). */
  secureCookies: boolean;
  /** METRICS_TOKEN: /metrics on this listener for that bearer token; null answers it 404. */
  metricsToken: string | null;
}
