// The service's parts, wired once. Tests build the same parts over a temp root.
import { chmod, mkdir } from "node:fs/promises";
import { Builds } from "./builds/builds.ts";
import type { RunPolicy } from "./builds/run-jail.ts";
import { DockerDaemons, type EngineFound } from "./docker/docker-daemon.ts";
import { EventBus } from "./events/event-bus.ts";
import { GoldenArchives } from "./golden/golden-archive.ts";
import { GenerationPins, KeyedLocks } from "./golden/golden-locks.ts";
import { GoldenQuota } from "./golden/golden-quota.ts";
import { Goldens } from "./golden/goldens.ts";
import { Replications } from "./golden/replication.ts";
import { Spares } from "./golden/spares.ts";
import { SandboxLayout } from "./layout.ts";
import type { Logger } from "./logger.ts";
import { watchGoldens } from "./metrics.ts";
import { Sessions } from "./sessions/sessions.ts";
import { TestSessions } from "./sessions/test-sessions.ts";

export interface SandboxServices {
  layout: SandboxLayout;
  /** The runs' Docker daemons, or why runs get none here. */
  daemons: DockerDaemons;
  bus: EventBus;
  goldens: Goldens;
  quota: GoldenQuota;
  spares: Spares;
  /** Goldens as other hosts fetch them, and goldens fetched from other hosts. */
  archives: GoldenArchives;
  replications: Replications;
  builds: Builds;
  sessions: Sessions;
  testSessions: TestSessions;
  logger: Logger;
}

export function createServices(options: {
  root: string;
  logger: Logger;
  stopGraceMs: number;
  goldenQuotaBytes?: number | null;
  /** Spare copies kept per project; only worth it where copies are reflinks. */
  spareCopies?: number;
  /** The engine every run gets a daemon of (findEngine); none by default, and why. */
  docker?: EngineFound;
  /** How runs are isolated and bounded; by default as the environment's defaults say. */
  runs?: Partial<RunPolicy>;
  /** A CA (PEM) trusted, besides the system's, in the certificates of hosts goldens are fetched from. */
  peerCa?: string | null;
}): SandboxServices {
  const layout = new SandboxLayout(options.root);
  const policy: RunPolicy = {
    isolated: process.getuid?.() === 0,
    network: "none",
    limits: { processes: 4096, openFiles: 16_384 },
    diskLimitBytes: options.goldenQuotaBytes ?? null,
    diskCheckMs: 2000,
    ...options.runs,
  };
  const daemons = new DockerDaemons({
    root: layout.root,
    engine: options.docker?.engine ?? null,
    absence: options.docker?.reason ?? "Docker daemons are turned off on this sandbox",
    refuses: options.docker?.refuses ?? false,
    logger: options.logger,
    stopGraceMs: options.stopGraceMs,
    scratchDir: layout.tmpDir,
    isolated: policy.isolated,
    limits: policy.limits,
  });
  const bus = new EventBus();
  const locks = new KeyedLocks();
  const pins = new GenerationPins();
  const goldens = new Goldens(layout, locks, pins, (made, dockerDir) => daemons.goldenProblem(made, dockerDir));
  const quota = new GoldenQuota({ goldens, locks, bus, logger: options.logger }, options.goldenQuotaBytes ?? null);
  const spares = new Spares({ layout, locks, goldens, logger: options.logger }, options.spareCopies ?? 0);
  // What makes and promotes goldens: a build here, or a replication from another host.
  const goldenMakers = { daemons, layout, locks, pins, goldens, quota, spares, bus, logger: options.logger };
  const builds = new Builds({ ...goldenMakers, stopGraceMs: options.stopGraceMs, policy });
  const archives = new GoldenArchives(goldens);
  const replications = new Replications({ ...goldenMakers, peerCa: options.peerCa ?? null });
  const sessions = new Sessions(layout, goldens, spares, bus);
  const testSessions = new TestSessions({
    layout,
    sessions,
    daemons,
    policy,
    logger: options.logger,
    stopGraceMs: options.stopGraceMs,
  });
  watchGoldens(goldens, layout.root);
  return {
    layout,
    daemons,
    bus,
    goldens,
    quota,
    spares,
    archives,
    replications,
    builds,
    sessions,
    testSessions,
    logger: options.logger,
  };
}

/**
 * Ends every run (builds and test sessions as interrupted: the service is stopping), every
 * replication and the spares' copying, waits for every daemon to be down, and removes their directory in /tmp.
 */
export async function stopRuns(services: SandboxServices): Promise<void> {
  await Promise.all([
    services.builds.stopAll(),
    services.testSessions.stopAll(),
    services.replications.stopAll(),
    services.spares.stop(),
    services.daemons.settled(),
  ]);
  await services.daemons.removeBase();
}

/** Creates the root's directories and settles whatever a previous run left behind. */
export async function prepareRoot(services: SandboxServices): Promise<void> {
  const { layout } = services;
  for (const dir of [layout.goldensDir, layout.buildsDir, layout.recordsDir, layout.sessionsDir, layout.tmpDir]) {
    await mkdir(dir, { recursive: true });
  }
  // Projects' users pass through the root to their own runs' directories; nothing else is
  // theirs, whatever umask the service was started with: goldens, records and staging are shut.
  await chmod(layout.root, 0o711);
  for (const dir of [layout.goldensDir, layout.recordsDir, layout.tmpDir]) await chmod(dir, 0o700);
  // Daemons first: what they left mounted would make the runs' directories impossible to remove.
  await services.daemons.sweep();
  const settled = await services.builds.recover();
  await services.goldens.recover();
  await services.spares.recover();
  await services.testSessions.recover();
  // Which storage driver this host's daemons use is asked once, now rather than in the first
  // session's way (goldens of another driver are not handed on).
  void services.daemons.storageDriver();
  for (const build of settled) {
    services.logger.info({ buildId: build.build_id, status: build.status }, "settled a build of the previous run");
  }
}
