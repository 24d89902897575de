// A test sandbox listening on a real loopback port with a token of its own, as another host
// reaches it: replication fetches from one over HTTP.
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { createTestSandbox, type TestSandbox } from "../helpers.ts";

export interface ServedSandbox extends TestSandbox {
  url: string;
  token: string;
}

export async function servedSandbox(options: Parameters<typeof createTestSandbox>[0] = {}): Promise<ServedSandbox> {
  const token = randomBytes(24).toString("hex");
  const sandbox = await createTestSandbox({ ...options, token });
  const server = serve({ fetch: sandbox.app.fetch, port: 0, hostname: "127.0.0.1" });
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    ...sandbox,
    url: `http://127.0.0.1:${port}`,
    token,
    close: async () => {
      server.close();
      await sandbox.close();
    },
  };
}

/** The host a golden is fetched from: a served sandbox, or the same at another URL (a lossy link). */
type Source = { url: string; token: string | null };

/** Asks `to` to fetch the project's generation from `from`; resolves with the answer's status. */
export async function startReplication(
  to: TestSandbox,
  from: Source,
  projectId: string,
  buildId: string,
  extra: Record<string, unknown> = {},
): Promise<number> {
  const res = await to.request("POST", `/v1/goldens/${projectId}/replication`, {
    build_id: buildId,
    source_url: from.url,
    source_token: from.token,
    ...extra,
  });
  if (res.status !== 202 && res.status !== 200)
    throw new Error(`replication answered ${res.status}: ${await res.text()}`);
  return res.status;
}

/** Asks `to` to fetch the project's generation from `from`, and waits for the replication to end. */
export async function replicate(
  to: TestSandbox,
  from: Source,
  projectId: string,
  buildId: string,
  extra: Record<string, unknown> = {},
) {
  await startReplication(to, from, projectId, buildId, extra);
  return waitForReplication(to, projectId);
}

/**
 * The project's replication once it has ended (within a minute, else the test says where it
 * stood), read from a test sandbox or from the URL of a service running as a process.
 */
export async function waitForReplication(at: TestSandbox | string, projectId: string) {
  const route = `/v1/goldens/${projectId}/replication`;
  const read = () => (typeof at === "string" ? fetch(`${at}${route}`) : at.request("GET", route));
  const deadline = Date.now() + 60_000;
  for (;;) {
    // biome-ignore lint/suspicious/noExplicitAny: a Replication, checked by the assertions that read it
    const replication: any = await (await read()).json();
    if (replication.finished_at) return replication;
    if (Date.now() > deadline)
      throw new Error(`the replication did not end within a minute: ${JSON.stringify(replication)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
