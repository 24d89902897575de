// The BFF as tests use it: the real app, store and orchestration, with the sandbox played by
// the typed MSW mock sandbox.
import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import type { components } from "@prewarm/api-types/bff";
import { createSandboxHandlers } from "@prewarm/mock-sandbox/handlers";
import { MockSandbox } from "@prewarm/mock-sandbox/model";
import type { MetricsAccess } from "@prewarm/service-kit/env";
import { entries, freePort, startService } from "@prewarm/test-kit/processes";
import { setupServer } from "msw/node";
import pg from "pg";
import { afterAll, afterEach, beforeAll, inject } from "vitest";
import { createApp } from "../src/app.ts";
import { createLogger, type Logger } from "../src/logger.ts";
import type { FleetHost } from "../src/sandbox/fleet.ts";
import { type BffServices, createServices, startServices, stopServices } from "../src/services.ts";
import { migrate } from "../src/store/migrate.ts";
import type { Project } from "../src/store/project-rows.ts";
import { createPgliteClient, createPostgresClient, type SqlClient } from "../src/store/sql-client.ts";

import type { TestUser } from "./seed-user.ts";

export { seedUser, type TestUser } from "./seed-user.ts";

const sandboxUrl = "http://sandbox.test";
type CreateProjectRequest = components["schemas"]["CreateProjectRequest"];

// Response bodies in tests are checked by the assertions that read them.
// biome-ignore lint/suspicious/noExplicitAny: see above
export type TestResponse = Omit<Response, "json"> & { json(): Promise<any> };

/** The mock sandbox for this test file; reset after every test. `onRequest` sees each request it gets. */
export function useMockSandbox(options: { onRequest?: (request: Request) => void } = {}): MockSandbox {
  const sandbox = new MockSandbox();
  const server = setupServer(...createSandboxHandlers(sandbox, sandboxUrl));
  const { onRequest } = options;
  if (onRequest) server.events.on("request:start", ({ request }) => onRequest(request));
  beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
  afterEach(() => {
    sandbox.reset();
    server.resetHandlers();
  });
  afterAll(() => server.close());
  return sandbox;
}

export interface StoreBackend {
  name: string;
  /** Why this backend cannot run here, or null. */
  skip: string | null;
  open: () => Promise<{ sql: SqlClient; drop: () => Promise<void> }>;
}

/** PGlite, and a fresh database on the test PostgreSQL server. */
export function storeBackends(): StoreBackend[] {
  const adminUrl = inject("postgresAdminUrl");
  return [
    {
      name: "PGlite",
      skip: null,
      open: async () => ({ sql: await createPgliteClient(null), drop: async () => {} }),
    },
    {
      name: "PostgreSQL server",
      skip: adminUrl ? null : inject("postgresSkipReason"),
      open: async () => {
        const database = await freshDatabase(adminUrl ?? "");
        const sql = createPostgresClient(database.url);
        return {
          sql,
          drop: async () => {
            await sql.close();
            await database.drop();
          },
        };
      },
    },
  ];
}

/** A new, empty database on the test PostgreSQL server. */
export async function freshDatabase(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `t_${randomUUID().replaceAll("-", "")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const again = new pg.Client({ connectionString: adminUrl });
      await again.connect();
      await again.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await again.end();
    },
  };
}

export interface TestBff {
  services: BffServices;
  app: ReturnType<typeof createApp>;
  sql: SqlClient;
  /** The owner of every project `createProject` makes; `request` acts as them. */
  owner: TestUser;
  request: (method: string, url: string, body?: unknown) => Promise<TestResponse>;
  /** A request as `user` (by API token), or anonymous with null; `headers` are sent as given. */
  requestAs: (
    user: TestUser | null,
    method: string,
    url: string,
    body?: unknown,
    headers?: Record<string, string>,
  ) => Promise<TestResponse>;
  addUser: (name: string, password?: string) => Promise<TestUser>;
  /** A project of `owner`'s, made through the API as a client would: a shop with a startup script unless told otherwise. */
  newProject: (input?: Partial<CreateProjectRequest>) => Promise<Project>;
  close: () => Promise<void>;
}

/**
 * The BFF for this test file, made before its first test and closed after its last (one embedded
 * database for the file: every test works on projects of its own).
 */
export function useTestBff(options: Parameters<typeof createTestBff>[0] = {}): TestBff {
  const bff = {} as TestBff;
  beforeAll(async () => {
    Object.assign(bff, await createTestBff(options));
  });
  afterAll(async () => {
    await bff.close();
  });
  return bff;
}

export async function createTestBff(
  options: {
    sql?: SqlClient;
    monitor?: boolean;
    reconcileIntervalMs?: number;
    logger?: Logger;
    metrics?: MetricsAccess;
  } = {},
): Promise<TestBff> {
  const sql = options.sql ?? (await createPgliteClient(null));
  await migrate(sql);
  const services = createServices({
    sql,
    logger: options.logger ?? createLogger("silent"),
    sandboxUrl,
    webDist: null,
    buildTimeoutSeconds: 1800,
    reconcileIntervalMs: options.reconcileIntervalMs ?? 60_000,
    metrics: options.metrics,
  });
  await startServices(services, { monitor: options.monitor });
  const app = createApp(services);
  const addUser = async (name: string, password?: string): Promise<TestUser> => {
    const user = await services.auth.createUser(name, password ?? null);
    return { ...user, token: await services.auth.createApiToken(user.id, "test") };
  };
  const owner = await addUser("owner");
  const requestAs: TestBff["requestAs"] = async (user, method, url, body, headers = {}) =>
    app.request(url, {
      method,
      headers: {
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...(user ? { authorization: `Bearer ${user.token}` } : {}),
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
  return {
    services,
    app,
    sql,
    owner,
    request: (method, url, body) => requestAs(owner, method, url, body),
    requestAs,
    addUser,
    newProject: async (input = {}) => {
      const res = await requestAs(owner, "POST", "/api/v1/projects", {
        name: "Shop",
        repository_url: "https://git.example/shop.git",
        startup_script: script,
        ...input,
      });
      if (res.status !== 201) throw new Error(`creating a project answered ${res.status}: ${await res.text()}`);
      return res.json();
    },
    close: async () => {
      await stopServices(services);
      if (!options.sql) await sql.close();
    },
  };
}

export const script = "#!/bin/bash\ndocker compose build\n";

/** The fleet's one host (SANDBOX_URL's), for a test that reaches its client directly. */
export function onlyHost(bff: TestBff): FleetHost {
  const [host, ...others] = bff.services.fleet.all();
  if (!host || others.length > 0) throw new Error(`the fleet has ${others.length + (host ? 1 : 0)} hosts, not one`);
  return host;
}

/** A BFF process of its own on a free port, answering once healthy: `env` on top of no web bundle. */
export async function startBffProcess(env: Record<string, string>): Promise<{ url: string; process: ChildProcess }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const process = await startService(entries.bff, { PORT: String(port), WEB_DIST: "", ...env }, `${url}/api/v1/health`);
  return { url, process };
}
