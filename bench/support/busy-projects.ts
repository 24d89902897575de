// "While builds run and streams are open": the BFF's everyday background, kept up during a
// measurement. Some projects have a build in flight at every moment; every `turnMs` the oldest
// one ends in the mock sandbox (with a log line first, as a script prints) and the project's next
// build is started through the API at the following turn, so project changes keep reaching the
// open event streams, as the settings page's live status (`GET /projects/{id}/events`) gets them.
import type { MockSandbox } from "@prewarm/mock-sandbox/model";
import { EventStreamClient } from "../../packages/test-kit/src/event-stream.ts";

export interface Busy {
  /** Project states the open streams have received so far. */
  received: () => number;
  stop: () => Promise<void>;
}

export async function keepBusy(options: {
  bffUrl: string;
  headers: Record<string, string>;
  sandbox: MockSandbox;
  /** Projects that build; streams watch these and `watched`. */
  building: string[];
  watched: string;
  streams: number;
  turnMs: number;
}): Promise<Busy> {
  const { bffUrl, headers, sandbox, building } = options;
  const startBuild = async (projectId: string) => {
    const res = await fetch(`${bffUrl}/api/v1/projects/${projectId}/docker-cache/builds`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ trigger: "manual" }),
    });
    if (res.status !== 202) throw new Error(`starting a build answered ${res.status}: ${await res.text()}`);
  };
  const watchedIds = [options.watched, ...building];
  const clients = await Promise.all(
    Array.from({ length: options.streams }, (_, i) =>
      EventStreamClient.connect(`${bffUrl}/api/v1/projects/${watchedIds[i % watchedIds.length]}/events`, headers),
    ),
  );
  await Promise.all(building.map(startBuild));

  let stopped = false;
  let failure: unknown = null;
  // A project's next build starts a turn after its last one ended, when the BFF has settled that
  // one: on PostgreSQL a start that meets the settling is at times refused (422), and a refusal
  // is not what this measures.
  let ended: string | null = null;
  let turning = Promise.resolve();
  const timer = setInterval(() => {
    turning = turning
      .then(async () => {
        if (stopped || failure) return;
        if (ended) await startBuild(ended);
        const oldest = sandbox.allBuilds().find((build) => build.status === "running");
        ended = oldest?.project_id ?? null;
        if (!oldest) return;
        sandbox.emitLog(oldest.build_id, "#12 exporting layers 2.3s done\n");
        sandbox.finishBuild(oldest.build_id, { sizeBytes: 3_200_000_000 });
      })
      .catch((error: unknown) => {
        failure = error;
      });
  }, options.turnMs);

  return {
    received: () => clients.reduce((sum, client) => sum + client.events.filter((e) => e.event === "project").length, 0),
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await turning;
      await Promise.all(clients.map((client) => client.close()));
      // A measurement taken while the background had stopped would not be what it claims.
      if (failure) throw failure;
    },
  };
}
