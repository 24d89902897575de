// Hostile input bounces off: the real service, with a token, over a root holding a golden, ended
// builds and a session, gets every bad request the contract implies (hostile path values, every
// way to break each body, bodies over the limit or not JSON, unknown routes) and then every
// operation without its token. Each is a 4xx problem that gives nothing away, and afterwards the
// root is the same to the byte, the mode and the mtime, and no event was published.
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { serve } from "@hono/node-server";
import { loadContract } from "@prewarm/api-types/contract";
import { MAX_BODY_BYTES } from "@prewarm/service-kit/request-body";
import { type ContractRequest, hostileRequests, sampleRequests } from "@prewarm/test-kit/contract-sweep";
import { treeManifest } from "@prewarm/test-kit/tree-manifest";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseEnv } from "../src/env.ts";
import { createTestSandbox, type TestSandbox } from "./helpers.ts";

const token = randomBytes(32).toString("base64url");
const contract = loadContract("sandbox").document;
const pathValues = { project_id: "p1", build_id: "b1", session_id: "s1" };
const logLines: string[] = [];
let sandbox: TestSandbox;

beforeAll(async () => {
  const logger = pino({ level: "debug" }, { write: (line: string) => logLines.push(line) });
  sandbox = await createTestSandbox({ token, logger, metricsToken: "m".repeat(40) });
  // The token is in the service's environment on a real host; a startup script never sees it.
  process.env.SANDBOX_TOKEN = token;
  try {
    const golden = await sandbox.startBuild({
      build_id: "b1",
      project_id: "p1",
      startup_script: 'env > "$HELIX_DOCKER_DATA_ROOT/env.txt"; mkdir -p "$HELIX_DOCKER_DATA_ROOT/overlay2"',
    });
    expect((await sandbox.waitForBuild(golden.build_id)).status).toBe("succeeded");
  } finally {
    delete process.env.SANDBOX_TOKEN;
  }
  await sandbox.startBuild({ build_id: "b2", project_id: "p2", startup_script: "echo no; exit 3" });
  expect((await sandbox.waitForBuild("b2")).status).toBe("failed");
  expect((await sandbox.request("POST", "/v1/sessions", { session_id: "s1", project_id: "p1" })).status).toBe(201);
});
afterAll(async () => {
  await sandbox?.close();
});

function send(request: ContractRequest, authorization: string | null) {
  const headers = { ...request.headers, ...(authorization === null ? {} : { authorization }) };
  return sandbox.app.request(request.path, { method: request.method, headers, body: request.body });
}

/** What is wrong with an answer that should be a 4xx problem giving nothing away; null if nothing. */
async function problemFault(res: Response, expectedStatus?: number): Promise<string | null> {
  const text = await res.text();
  if (res.status < 400 || res.status > 499 || (expectedStatus && res.status !== expectedStatus)) {
    return `answered ${res.status}: ${text.slice(0, 200)}`;
  }
  if (res.headers.get("content-type") !== "application/problem+json") {
    return `content-type ${res.headers.get("content-type")}`;
  }
  const problem = JSON.parse(text);
  for (const field of ["type", "title", "code", "detail"]) {
    if (typeof problem[field] !== "string" || problem[field] === "") return `no ${field} in ${text.slice(0, 200)}`;
  }
  if (problem.status !== res.status) return `status ${problem.status} in a ${res.status} answer`;
  if (text.includes(sandbox.root) || /\n\s+at |\.ts:\d+/.test(problem.detail)) return `detail gives away ${text}`;
  return null;
}

async function sweep(requests: ContractRequest[], authorization: (r: ContractRequest) => string | null) {
  const before = await treeManifest(sandbox.root);
  const events: unknown[] = [];
  const unsubscribe = sandbox.services.bus.subscribe((event) => events.push(event));
  const faults: string[] = [];
  const statuses: Record<number, number> = {};
  try {
    for (const request of requests) {
      const res = await send(request, authorization(request));
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      const fault = await problemFault(res, authorization(request) === `Bearer ${token}` ? undefined : 401);
      const why = "why" in request ? request.why : `${request.operationId} with ${authorization(request)}`;
      if (fault) faults.push(`${request.method} ${request.path.slice(0, 80)} (${why}): ${fault}`);
    }
  } finally {
    unsubscribe();
  }
  expect(faults).toEqual([]);
  expect(events).toEqual([]);
  expect(await treeManifest(sandbox.root)).toEqual(before);
  return statuses;
}

describe("with the right token", () => {
  it("answers every hostile request of the contract with a 4xx problem and changes nothing", async () => {
    const requests = hostileRequests(contract, { pathValues, maxBodyBytes: MAX_BODY_BYTES });
    const elsewhere = [
      ["GET", "/v1/nothing-here"],
      ["GET", "/v2/builds/b1"],
      ["PUT", "/v1/builds/b1"],
      ["PATCH", "/v1/goldens/p1"],
      ["POST", "/v1/health"],
      ["DELETE", "/v1/events"],
      ["GET", "/v1/builds/b1/stop"],
    ].map(([method, url]) => ({ operationId: "none", method: method!, path: url!, headers: {}, why: "no such route" }));
    const statuses = await sweep([...requests, ...elsewhere], () => `Bearer ${token}`);
    expect(requests.length).toBeGreaterThan(100);
    // Each kind of refusal is there: bad input, not found, too large, not JSON.
    expect(Object.keys(statuses).sort()).toEqual(["400", "404", "413", "415"]);
  });

  it("refuses a body over the limit by its Content-Length, before reading it", async () => {
    const server = serve({ fetch: sandbox.app.fetch, hostname: "127.0.0.1", port: 0 }) as Server;
    await new Promise((resolve) => server.once("listening", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest({
          host: "127.0.0.1",
          port,
          method: "POST",
          path: "/v1/builds",
          headers: {
            authorization: `Bearer ${token}`,
            "content-type": "application/json",
            "content-length": String(64 * MAX_BODY_BYTES),
          },
        });
        req.on("error", reject).on("response", (res) => {
          let body = "";
          res.on("data", (chunk) => (body += chunk)).on("end", () => resolve({ status: res.statusCode!, body }));
        });
        // Only the first bytes are ever sent: the answer must not wait for the rest.
        req.write('{"build_id":"');
      });
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.body)).toMatchObject({ status: 413, code: "body_too_large" });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("keeps the token out of startup scripts and logs", async () => {
    const env = await readFile(path.join(sandbox.root, "goldens/p1/current/docker/env.txt"), "utf8");
    expect(env).toContain("HELIX_BUILD_ID=b1");
    expect(env).not.toContain(token);
    await send({ operationId: "getGolden", method: "GET", path: "/v1/goldens/p1", headers: {} }, `Bearer ${token}x`);
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join("")).not.toContain(token);
  });
});

describe("without the right token", () => {
  const wrong = [
    null,
    "",
    `Bearer ${token.slice(0, -1)}${token.endsWith("a") ? "b" : "a"}`,
    `Bearer ${token}${token}`,
    `Basic ${Buffer.from(`x:${token}`).toString("base64")}`,
    token,
    "Bearer",
  ];

  it("answers every operation, valid otherwise, with 401 and does nothing", async () => {
    const requests = sampleRequests(contract, { pathValues, include: (id) => id !== "getHealth" });
    expect(requests).toHaveLength(
      Object.values(contract.paths as object)
        .flatMap((item) => Object.keys(item))
        .filter((key) => key !== "parameters").length - 1,
    );
    const all = requests.flatMap((r) => wrong.map((authorization) => ({ ...r, authorization })));
    const statuses = await sweep(all, (r) => (r as (typeof all)[number]).authorization);
    expect(statuses).toEqual({ 401: all.length });
    const res = await send(requests[0]!, null);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer\b/);
    expect(await res.json()).toMatchObject({ code: "unauthenticated", status: 401 });
  });

  it("answers the health check", async () => {
    const res = await sandbox.app.request("/v1/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });
});

describe("the token in the configuration", () => {
  const good = "k".repeat(32);

  it("is needed when the service listens anywhere but loopback", () => {
    for (const host of ["0.0.0.0", "::", "10.1.2.3", "sandbox.internal"]) {
      expect(() => parseEnv({ SANDBOX_HOST: host })).toThrow(/SANDBOX_TOKEN must be set when SANDBOX_HOST/);
    }
    for (const host of ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"]) {
      expect(parseEnv({ SANDBOX_HOST: host }).token).toBeNull();
    }
    expect(parseEnv({}).token).toBeNull();
  });

  it("is at least 32 printable characters, and never echoed", () => {
    for (const bad of ["k".repeat(31), `${"k".repeat(31)} k`, `${"k".repeat(32)}\n`]) {
      const thrown = (() => {
        try {
          parseEnv({ SANDBOX_TOKEN: bad, SANDBOX_PORT: "x" });
        } catch (error) {
          return String(error);
        }
        return "";
      })();
      expect(thrown).toMatch(/SANDBOX_TOKEN must be at least 32 characters/);
      expect(thrown).toMatch(/SANDBOX_PORT/);
      expect(thrown).not.toContain("k".repeat(31));
    }
  });

  it("lets the service listen on every address", () => {
    expect(parseEnv({ SANDBOX_HOST: "0.0.0.0", SANDBOX_TOKEN: good })).toMatchObject({ host: "0.0.0.0", token: good });
  });
});

describe("TLS in the configuration", () => {
  it("needs a certificate and its key together, each a readable PEM file", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "sandbox-tls-env-"));
    try {
      const pem = path.join(dir, "host.pem");
      await writeFile(pem, "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n");
      const notPem = path.join(dir, "notes.txt");
      await writeFile(notPem, "hello\n");
      expect(() => parseEnv({ SANDBOX_TLS_CERT: pem })).toThrow(
        /SANDBOX_TLS_CERT and SANDBOX_TLS_KEY must be set together/,
      );
      expect(() => parseEnv({ SANDBOX_TLS_CERT: pem, SANDBOX_TLS_KEY: path.join(dir, "missing") })).toThrow(
        /SANDBOX_TLS_KEY names a file that cannot be read/,
      );
      expect(() => parseEnv({ SANDBOX_PEER_CA: notPem })).toThrow(/SANDBOX_PEER_CA must name a PEM file/);
      expect(parseEnv({ SANDBOX_TLS_CERT: pem, SANDBOX_TLS_KEY: pem, SANDBOX_PEER_CA: pem })).toMatchObject({
        tls: { cert: expect.stringContaining("BEGIN"), key: expect.stringContaining("BEGIN") },
        peerCa: expect.stringContaining("BEGIN"),
      });
      expect(parseEnv({})).toMatchObject({ tls: null, peerCa: null });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
