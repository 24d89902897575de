// One store and two ways of reading a project from it, each served over real HTTP on a loopback
// port: the real BFF app, built as its tests build it (apps/bff/test/helpers.ts) with the
// sandbox played by the mock at SANDBOX_URL, and the one-query baseline. It runs as a child of
// bench/bff-read.ts, so the load generator never shares its thread; it tells the parent over IPC
// where it listens and, when asked, how many statements the store has run and how much CPU time
// the process has used so far.
//
//   STORE=pglite (in memory, as in the tests) or postgres (the server at DATABASE_URL)
import { serve } from "@hono/node-server";
import { createApp } from "../../apps/bff/src/app.ts";
import { createLogger } from "../../apps/bff/src/logger.ts";
import { createServices, startServices, stopServices } from "../../apps/bff/src/services.ts";
import { migrate } from "../../apps/bff/src/store/migrate.ts";
import { createPgliteClient, createPostgresClient, type SqlClient } from "../../apps/bff/src/store/sql-client.ts";
import { freePort } from "../../packages/test-kit/src/processes.ts";
import { oneQueryRead } from "./one-query-read.ts";

/** What the parent hears once both servers listen. */
export interface ReadServers {
  kind: "ready";
  bffUrl: string;
  baselineUrl: string;
  token: string;
  /** The owner's projects; the first is the one read. */
  projectIds: string[];
  /** Bytes of the project document the read answers with. */
  documentBytes: number;
}

export type ParentMessage = { kind: "usage" } | { kind: "exit" };
export type ChildMessage = ReadServers | { kind: "usage"; statements: number; cpuMicros: number };

const projects = 20;
const membersPerProject = 2;

const store = process.env.STORE ?? "pglite";
const raw = store === "postgres" ? createPostgresClient(required("DATABASE_URL")) : await createPgliteClient(null);
await migrate(raw);

// Every statement either contender runs passes here, so the parent can tell statements per read.
let statements = 0;
const sql: SqlClient = {
  ...raw,
  query: <T>(text: string, params?: unknown[]) => {
    statements++;
    return raw.query<T>(text, params);
  },
};

const services = createServices({
  sql,
  logger: createLogger("silent"),
  sandboxUrl: required("SANDBOX_URL"),
  webDist: null,
  buildTimeoutSeconds: 1800,
  reconcileIntervalMs: 60_000,
});
await startServices(services);
const app = createApp(services);

const owner = await services.auth.createUser("owner", null);
const token = await services.auth.createApiToken(owner.id, "bench");
const members = await Promise.all(Array.from({ length: 5 }, (_, i) => services.auth.createUser(`member-${i}`, null)));
const projectIds: string[] = [];
for (let i = 0; i < projects; i++) {
  const res = await app.request("/api/v1/projects", {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({
      name: `Shop ${i}`,
      repository_url: `https://git.example/shop-${i}.git`,
      startup_script: startupScript(i),
    }),
  });
  if (res.status !== 201) throw new Error(`creating a project answered ${res.status}: ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  projectIds.push(id);
  for (let m = 0; m < membersPerProject; m++) {
    await services.auth.addMember(id, members[(i + m) % members.length]?.name ?? "");
  }
}
const document = await app.request(`/api/v1/projects/${projectIds[0]}`, {
  headers: { authorization: `Bearer ${token}` },
});
const documentBytes = (await document.arrayBuffer()).byteLength;

const bffPort = await freePort();
const baselinePort = await freePort();
const servers = [
  serve({ fetch: app.fetch, hostname: "127.0.0.1", port: bffPort }),
  serve({ fetch: oneQueryRead(sql, services.store.defaults).fetch, hostname: "127.0.0.1", port: baselinePort }),
];

tell({
  kind: "ready",
  bffUrl: `http://127.0.0.1:${bffPort}`,
  baselineUrl: `http://127.0.0.1:${baselinePort}`,
  token,
  projectIds,
  documentBytes,
});

process.on("message", async (message: ParentMessage) => {
  if (message.kind === "usage") {
    const cpu = process.cpuUsage();
    tell({ kind: "usage", statements, cpuMicros: cpu.user + cpu.system });
  }
  if (message.kind === "exit") {
    for (const server of servers) server.close();
    await stopServices(services);
    await raw.close();
    // A clean exit, so that --cpu-prof writes its profile.
    process.exit(0);
  }
});

function tell(message: ChildMessage): void {
  process.send?.(message);
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

/** A script of a real project's length, so the document read is about 1.9 KB. */
function startupScript(i: number): string {
  return [
    "#!/bin/bash",
    "set -euo pipefail",
    `# Shop ${i}: images for the storefront, the API and the workers.`,
    "export DOCKER_BUILDKIT=1 COMPOSE_DOCKER_CLI_BUILD=1",
    "docker compose -f docker-compose.yml -f docker-compose.ci.yml pull --ignore-pull-failures",
    ...["storefront", "api", "worker", "scheduler", "mailer", "search-indexer"].map(
      (service) => `docker compose build --progress=plain --build-arg NODE_ENV=production ${service}`,
    ),
    "docker pull postgres:16-alpine && docker pull redis:7-alpine && docker pull minio/minio:latest",
    "docker run --rm -v \"$PWD\":/src -w /src node:20-alpine sh -c 'corepack enable && pnpm fetch --prod'",
    "docker compose run --rm api ./bin/rails assets:precompile db:schema:load RAILS_ENV=test",
    "docker compose run --rm storefront npm run build -- --mode production --sourcemap false",
    "docker image prune --force --filter 'until=24h' && docker builder prune --force --keep-storage 20GB",
    "docker compose config --services | xargs -n1 -I{} echo 'warmed {}'",
  ].join("\n");
}
