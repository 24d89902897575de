// Hostile input bounces off the BFF: every bad request openapi/bff.yaml implies (hostile path
// values, every way to break each body, bodies over the limit or not JSON), made by the owner
// (an operator too, so the operator API's own checks are reached), is a 4xx problem that gives nothing away; and every operation made without credentials is a
// 401. Afterwards the database and the sandbox are as they were, row for row.
import { loadContract } from "@prewarm/api-types/contract";
import { MAX_BODY_BYTES } from "@prewarm/service-kit/request-body";
import { type ContractRequest, hostileRequests, sampleRequests } from "@prewarm/test-kit/contract-sweep";
import { pino } from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { onlyHost, script, useMockSandbox, useTestBff } from "./helpers.ts";

const sandbox = useMockSandbox();
const contract = loadContract("bff");
const tables = [
  "projects",
  "builds",
  "users",
  "sessions",
  "api_tokens",
  "login_links",
  "project_members",
  "webhook_deliveries",
  "sandbox_hosts",
  "test_sessions",
];
/** Every line the BFF logs at error level or above: no input, however hostile, may cause one. */
const errorLines: string[] = [];
const logger = pino(
  { level: "info" },
  { write: (line: string) => void (JSON.parse(line).level >= 50 && errorLines.push(line)) },
);
const bff = useTestBff({ monitor: false, logger, metrics: { token: "m".repeat(40), port: null, host: "127.0.0.1" } });
let pathValues: Record<string, string>;

beforeAll(async () => {
  await bff.services.auth.setOperator(bff.owner.id, true);
  await bff.addUser("member", "member password");
  const project = await bff.newProject({ name: "Shop", startup_script: script });
  await bff.services.auth.addMember(project.id, "member");
  await bff.services.store.setWebhookSecret(project.id, "sweep-secret");
  const started = await bff.request("POST", `/api/v1/projects/${project.id}/docker-cache/builds`, {});
  const buildId = (await started.json()).build.id as string;
  await bff.services.orchestrator.settleFromSandbox(sandbox.finishBuild(buildId, { sizeBytes: 4096 }));
  const session = await bff.request("POST", `/api/v1/projects/${project.id}/test-sessions`);
  pathValues = {
    project_id: project.id,
    build_id: buildId,
    user_name: "member",
    label: onlyHost(bff).label,
    session_id: (await session.json()).session_id,
  };
});

async function snapshot(): Promise<unknown> {
  const rows: Record<string, unknown> = {};
  for (const table of tables) {
    // Using a token notes when it was last used; that is bookkeeping, not a change.
    const columns = table === "api_tokens" ? "token_hash, user_id, label, created_at" : "*";
    rows[table] = await bff.sql.query(`SELECT ${columns} FROM ${table} ORDER BY 1`);
  }
  return {
    rows,
    sandboxBuilds: sandbox.allBuilds(),
    golden: sandbox.getGolden(pathValues.project_id ?? ""),
    testSession: sandbox.testSessions.latest(pathValues.project_id ?? ""),
  };
}

/** What is wrong with an answer that should be a 4xx problem giving nothing away; null if nothing. */
async function problemFault(res: Response, expectedStatus?: number): Promise<string | null> {
  const text = await res.text();
  if (res.status < 400 || res.status > 499 || (expectedStatus && res.status !== expectedStatus)) {
    return `answered ${res.status}: ${text.slice(0, 200)}`;
  }
  if (res.headers.get("content-type") !== "application/problem+json")
    return `content-type ${res.headers.get("content-type")}`;
  const problem = JSON.parse(text);
  for (const field of ["type", "title", "code", "detail"]) {
    if (typeof problem[field] !== "string" || problem[field] === "") return `no ${field} in ${text.slice(0, 200)}`;
  }
  if (problem.status !== res.status) return `status ${problem.status} in a ${res.status} answer`;
  if (text.includes(process.cwd()) || /\n\s+at |\.ts:\d+/.test(text)) return `gives away ${text.slice(0, 300)}`;
  return null;
}

async function sweep(requests: ContractRequest[], authorization: string | null, expectedStatus?: number) {
  const before = await snapshot();
  const faults: string[] = [];
  const statuses: Record<number, number> = {};
  for (const request of requests) {
    const headers = { ...request.headers, ...(authorization ? { authorization } : {}) };
    const res = await bff.app.request(request.path, { method: request.method, headers, body: request.body });
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    const fault = await problemFault(res, expectedStatus);
    const why = "why" in request ? String(request.why) : request.operationId;
    if (fault) faults.push(`${request.method} ${request.path.slice(0, 90)} (${why}): ${fault}`);
  }
  expect(faults).toEqual([]);
  expect(await snapshot()).toEqual(before);
  expect(errorLines).toEqual([]);
  return statuses;
}

describe("the BFF's bad-input sweep", () => {
  it("answers every hostile request of the contract, made by the owner, with a 4xx problem and changes nothing", async () => {
    const requests = hostileRequests(contract.document, { pathValues, maxBodyBytes: MAX_BODY_BYTES });
    expect(requests.length).toBeGreaterThan(150);
    const statuses = await sweep(requests, `Bearer ${bff.owner.token}`);
    // Each kind of refusal is there: bad input, a bad signature, not found, too large, not JSON.
    for (const status of ["400", "401", "404", "413", "415"]) expect(Object.keys(statuses)).toContain(status);
  });

  it("answers every hostile request made without credentials with a 4xx problem, logging no error", async () => {
    const requests = hostileRequests(contract.document, { pathValues, maxBodyBytes: MAX_BODY_BYTES });
    const statuses = await sweep(requests, null);
    expect(Object.keys(statuses)).toContain("401");
  });

  it("names the field that holds a NUL character, and refuses a body that is not UTF-8", async () => {
    const login = await bff.requestAs(null, "POST", "/api/v1/auth/login", { username: "owner\u0000", password: "x" });
    expect(login.status).toBe(400);
    expect(await login.json()).toMatchObject({
      code: "invalid_request",
      errors: [{ path: "/username", message: "must not contain the NUL character (\\u0000)" }],
    });
    const project = await bff.newProject();
    const versions = await (await bff.request("GET", `/api/v1/projects/${project.id}/startup-script/versions`)).json();
    const notUtf8 = await bff.app.request(`/api/v1/projects/${project.id}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${bff.owner.token}`, "content-type": "application/json" },
      body: Buffer.from([...Buffer.from('{"startup_script":"'), 0xff, 0xfe, ...Buffer.from('"}')]),
    });
    expect(notUtf8.status).toBe(400);
    expect(await notUtf8.json()).toMatchObject({
      status: 400,
      detail: "The request body is not UTF-8, as JSON must be; nothing was done.",
    });
    expect(await (await bff.request("GET", `/api/v1/projects/${project.id}/startup-script/versions`)).json()).toEqual(
      versions,
    );
    expect(errorLines).toEqual([]);
  });

  it("answers every operation that needs credentials, made without them, with 401 and changes nothing", async () => {
    const requests = sampleRequests(contract.document, {
      pathValues,
      include: (id) => !contract.operations().find((op) => op.operationId === id)?.isPublic,
    });
    expect(requests.length).toBe(contract.operations().filter((op) => !op.isPublic).length);
    for (const authorization of [null, "Bearer pwc_forged", "Basic b3duZXI6eA=="]) {
      expect(await sweep(requests, authorization, 401)).toEqual({ 401: requests.length });
    }
  });
});
