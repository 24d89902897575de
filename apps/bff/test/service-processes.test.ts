// Both services as operators run them: started from their TypeScript by Node.js alone where it
// strips types (Node 22.18 and later; through tsx elsewhere), answering with each other, and
// stopping on SIGTERM in order: the BFF's event streams end with a retry hint, both say "stopped"
// and exit 0.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { components } from "@prewarm/api-types/bff";
import { entries, freePort, kill9, nodeStripsTypes, startService } from "@prewarm/test-kit/processes";
import { afterAll, describe, expect, it } from "vitest";

type Readiness = components["schemas"]["Readiness"];

import { seedUser } from "./seed-user.ts";

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

function output(child: import("node:child_process").ChildProcess): () => string {
  let text = "";
  child.stdout?.on("data", (chunk) => (text += chunk));
  return () => text;
}

function exited(child: import("node:child_process").ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

describe(`the services${nodeStripsTypes ? ", run by Node.js alone," : ""}`, () => {
  it("answer each other, then stop on SIGTERM: event streams told to retry, exit 0", {
    timeout: 180_000,
  }, async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "bff-processes-"));
    dirs.push(dir);
    const [sandboxPort, bffPort] = [await freePort(), await freePort()];
    const token = "t".repeat(40);
    const plainNode = nodeStripsTypes;
    const sandbox = await startService(
      entries.sandbox,
      {
        SANDBOX_ROOT: path.join(dir, "root"),
        SANDBOX_PORT: String(sandboxPort),
        SANDBOX_TOKEN: token,
        SANDBOX_DOCKER: "off",
        LOG_LEVEL: "info",
      },
      `http://127.0.0.1:${sandboxPort}/v1/health`,
      { stdout: "pipe", plainNode },
    );
    const sandboxOut = output(sandbox);
    const bffUrl = `http://127.0.0.1:${bffPort}`;
    // PGlite's directory is one process's: the user is made before the BFF opens it.
    const user = await seedUser({ dataDir: path.join(dir, "data") });
    const bff = await startService(
      entries.bff,
      {
        DATA_DIR: path.join(dir, "data"),
        PORT: String(bffPort),
        SANDBOX_URL: `http://127.0.0.1:${sandboxPort}`,
        SANDBOX_TOKEN: token,
        WEB_DIST: "",
        LOG_LEVEL: "info",
      },
      `${bffUrl}/api/v1/health`,
      { stdout: "pipe", plainNode },
    );
    const bffOut = output(bff);
    try {
      const ready = await fetch(`${bffUrl}/api/v1/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: "ready", database: { reachable: true } });
      await expect
        .poll(async () => ((await (await fetch(`${bffUrl}/api/v1/readyz`)).json()) as Readiness).sandbox.docker, {
          timeout: 30_000,
        })
        .toMatchObject({ available: false });

      // A browser's live status stream, open when the BFF is told to stop.
      const authorization = `Bearer ${user.token}`;
      const made = await fetch(`${bffUrl}/api/v1/projects`, {
        method: "POST",
        headers: { authorization, "content-type": "application/json" },
        body: JSON.stringify({ name: "Shop", startup_script: "true" }),
      });
      expect(made.status).toBe(201);
      const project = (await made.json()) as { id: string };
      const stream = await fetch(`${bffUrl}/api/v1/projects/${project.id}/events`, { headers: { authorization } });
      expect(stream.headers.get("content-type")).toMatch(/^text\/event-stream/);
      const streamed = new Response(stream.body).text();
      bff.kill("SIGTERM");
      expect(await streamed).toMatch(/retry: \d+\n\n$/);
      expect(await exited(bff)).toBe(0);
      sandbox.kill("SIGTERM");
      expect(await exited(sandbox)).toBe(0);
      for (const out of [bffOut(), sandboxOut()]) {
        expect(out).toContain('"msg":"shutting down: no new connections"');
        expect(out).toContain('"msg":"stopped"');
      }
    } finally {
      await kill9(bff);
      await kill9(sandbox);
    }
  });
});
