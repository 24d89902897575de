// Replication between real services over loopback HTTP: a golden built on one host is fetched by
// another, checked against the source's manifest and promoted there whole; a replica is itself a
// source. What goes wrong never leaves a mixture: a copy that differs, a transfer cut short, a
// receiver killed mid-way (the real service, SIGKILL) or a delete meanwhile leave the golden as it
// was, and nothing in staging. (docker-fidelity.test.ts replicates a real Docker data root.)
import { type ChildProcess, execFileSync } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { entries, freePort, kill9, startService } from "@prewarm/test-kit/processes";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { treeManifest } from "../src/fs/tree-manifest.ts";
import { createTestSandbox, type TestSandbox } from "./helpers.ts";
import { testRunUser } from "./support/run-users.ts";
import {
  replicate,
  type ServedSandbox,
  servedSandbox,
  startReplication,
  waitForReplication,
} from "./support/served-sandbox.ts";

// A golden with what a copy can get wrong: hard links, a symlink, a FIFO, modes (setuid, 0700,
// 000), an xattr, an empty directory, a sparse file and a few MB of content that name the build.
const treeScript = [
  "set -e",
  'd="$HELIX_DOCKER_DATA_ROOT"',
  // Each build makes its tree afresh over the previous golden's copy.
  'rm -rf "$d"/*',
  'mkdir -p "$d/overlay2/l1/diff/etc" "$d/overlay2/l2/diff" "$d/volumes/v/_data" "$d/empty" "$d/closed"',
  'for i in $(seq 1 40); do printf "%s %s\\n" "$HELIX_BUILD_ID" "$i" > "$d/overlay2/l1/diff/etc/f$i"; done',
  'ln "$d/overlay2/l1/diff/etc/f1" "$d/overlay2/l2/diff/hard"',
  'ln -s ../l1/diff/etc/f2 "$d/overlay2/l2/diff/sym"',
  'mkfifo "$d/volumes/v/_data/fifo"',
  'yes "$HELIX_BUILD_ID" | head -c 4000000 > "$d/volumes/v/_data/blob"',
  'truncate -s 8M "$d/volumes/v/_data/sparse"',
  'echo secret > "$d/closed/zero" && chmod 000 "$d/closed/zero" && chmod 700 "$d/closed"',
  'cp /bin/true "$d/overlay2/l1/diff/suid" && chmod 4755 "$d/overlay2/l1/diff/suid"',
  'setfattr -n user.overlay.opaque -v y "$d/overlay2/l2/diff"',
].join("\n");

let a: ServedSandbox;
let b: ServedSandbox;
const servers: Server[] = [];

beforeAll(async () => {
  a = await servedSandbox();
  b = await servedSandbox();
});
afterEach(async () => {
  for (const server of servers.splice(0)) server.close();
});
afterAll(async () => {
  await a?.close();
  await b?.close();
});

async function build(sandbox: TestSandbox, projectId: string, buildId: string): Promise<void> {
  await sandbox.startBuild({ build_id: buildId, project_id: projectId, startup_script: treeScript });
  const done = await sandbox.waitForBuild(buildId);
  expect(done.status, await (await sandbox.request("GET", `/v1/builds/${buildId}/log`)).text()).toBe("succeeded");
}

function goldenDir(sandbox: TestSandbox, projectId: string): string {
  return path.join(sandbox.root, "goldens", projectId, "current", "docker");
}

async function golden(sandbox: TestSandbox, projectId: string) {
  return (await sandbox.request("GET", `/v1/goldens/${projectId}`)).json();
}

/** Nothing of a replication is left in the host's staging. */
async function stagingOf(sandbox: TestSandbox): Promise<string[]> {
  return readdir(path.join(sandbox.root, "tmp"));
}

/**
 * A stand-in for the source's network: passes requests on to `target`, but sends only the first
 * `bytes` of an archive, then cuts the connection (`cut`) or holds it open (`stall`).
 */
async function lossyLink(target: ServedSandbox, mode: "cut" | "stall", bytes: number): Promise<string> {
  const server = createServer(async (req, res) => {
    const upstream = await fetch(new URL(req.url ?? "/", target.url), {
      headers: { authorization: req.headers.authorization ?? "" },
    });
    res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "" });
    if (!req.url?.includes("/archive")) {
      res.end(Buffer.from(await upstream.arrayBuffer()));
      return;
    }
    let sent = 0;
    const reader = upstream.body?.getReader();
    for (;;) {
      const { value, done } = (await reader?.read()) ?? { done: true, value: undefined };
      if (done || !value) break;
      const room = bytes - sent;
      res.write(Buffer.from(value.subarray(0, Math.max(0, room))));
      sent += Math.min(value.length, room);
      if (sent >= bytes) break;
    }
    await reader?.cancel();
    if (mode === "cut") res.destroy();
    // A stalled link is left open until the test ends.
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("replication", () => {
  it("promotes a whole, equal copy of the source's golden, which is then a source itself", async () => {
    await build(a, "p1", "b1");
    const seen: string[] = [];
    const unsubscribe = b.services.bus.subscribe(({ event }) => {
      if (event.type === "replication") seen.push(event.replication.state);
    });
    const replication = await replicate(b, a, "p1", "b1", { compression: "zstd" });
    unsubscribe();
    expect(replication).toMatchObject({ state: "promoted", progress: 1, error: null, build_id: "b1" });
    expect(replication.received_bytes).toBeGreaterThan(0);
    expect(seen[0]).toBe("receiving");
    expect(seen).toContain("verifying");
    expect(seen.at(-1)).toBe("promoted");

    const original = await golden(a, "p1");
    expect(await golden(b, "p1")).toMatchObject({
      exists: true,
      build_id: "b1",
      built_at: original.built_at,
      size_bytes: original.size_bytes,
      unusable: null,
    });
    // The same tree path by path, times, sparse files and xattrs included.
    const want = await treeManifest(goldenDir(a, "p1"));
    expect((await treeManifest(goldenDir(b, "p1"))).entries).toEqual(want.entries);
    expect(await stagingOf(b)).toEqual([]);

    // A third host fetches it from the replica, uncompressed.
    const c = await servedSandbox();
    try {
      expect(await replicate(c, b, "p1", "b1")).toMatchObject({ state: "promoted" });
      expect((await treeManifest(goldenDir(c, "p1"))).entries).toEqual(want.entries);
      // Asked again, it is already there.
      expect(await startReplication(c, b, "p1", "b1")).toBe(200);
      expect(await waitForReplication(c, "p1")).toMatchObject({ state: "promoted", received_bytes: 0 });
    } finally {
      await c.close();
    }
  });

  it("never promotes a copy that differs from the manifest, or a transfer cut short", async () => {
    await build(a, "p2", "b2");
    expect(await replicate(b, a, "p2", "b2")).toMatchObject({ state: "promoted" });
    const before = await treeManifest(goldenDir(b, "p2"));
    await build(a, "p2", "b3");

    // The manifest is made, then a file of the source changes (same size, other bytes).
    expect((await a.request("GET", "/v1/goldens/p2/generations/b3/manifest")).status).toBe(200);
    const changed = path.join(goldenDir(a, "p2"), "overlay2", "l1", "diff", "etc", "f7");
    // Its times are kept aside to the nanosecond, to be put back with its bytes.
    const times = path.join(a.root, "f7-times");
    execFileSync("touch", ["-r", changed, times]);
    await writeFile(changed, "b9 7\n");
    const differs = await replicate(b, a, "p2", "b3");
    expect(differs.state).toBe("failed");
    expect(differs.error).toMatch(/differs from the source's manifest: overlay2\/l1\/diff\/etc\/f7: .*sha256/);
    expect(await golden(b, "p2")).toMatchObject({ build_id: "b2" });
    expect((await treeManifest(goldenDir(b, "p2"))).entries).toEqual(before.entries);
    expect(await stagingOf(b)).toEqual([]);
    await writeFile(changed, "b3 7\n");
    execFileSync("touch", ["-r", times, changed]);

    const ended = await replicate(b, { url: await lossyLink(a, "cut", 200_000), token: a.token }, "p2", "b3");
    expect(ended.state).toBe("failed");
    expect(ended.error).toMatch(/cut short|could not be unpacked/);
    expect((await treeManifest(goldenDir(b, "p2"))).entries).toEqual(before.entries);
    expect(await stagingOf(b)).toEqual([]);

    // Straight from the source, it arrives.
    expect(await replicate(b, a, "p2", "b3")).toMatchObject({ state: "promoted" });
    expect((await treeManifest(goldenDir(b, "p2"))).entries).toEqual((await treeManifest(goldenDir(a, "p2"))).entries);
  });

  it("stops when the golden is deleted meanwhile, and does not bring it back", async () => {
    await build(a, "p3", "b4");
    const stalled = { url: await lossyLink(a, "stall", 100_000), token: a.token };
    expect(await startReplication(b, stalled, "p3", "b4")).toBe(202);
    while ((await (await b.request("GET", "/v1/goldens/p3/replication")).json()).received_bytes === 0) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await b.request("DELETE", "/v1/goldens/p3")).status).toBe(204);
    const ended = await (await b.request("GET", "/v1/goldens/p3/replication")).json();
    expect(ended).toMatchObject({ state: "cancelled", error: "The golden was deleted" });
    expect(await golden(b, "p3")).toMatchObject({ exists: false });
    expect(await stagingOf(b)).toEqual([]);
  });

  it("says why it fetches nothing: a wrong token, a generation the source does not have, a newer golden here, no room", async () => {
    await build(a, "p4", "b5");
    const wrongToken = await replicate(b, { ...a, token: "x".repeat(48) }, "p4", "b5");
    expect(wrongToken).toMatchObject({ state: "failed" });
    expect(wrongToken.error).toMatch(/^The source sandbox answered 401/);
    const unknown = await replicate(b, a, "p4", "b404");
    expect(unknown.error).toMatch(
      /^The source sandbox answered 404: Generation b404 is not the golden of project p4 here/,
    );
    const unreachable = await replicate(b, { ...a, url: `http://127.0.0.1:${await freePort()}` }, "p4", "b5");
    expect(unreachable.error).toMatch(/^The source sandbox could not be reached/);

    // This host built a newer golden of its own meanwhile.
    await build(b, "p4", "b6");
    const older = await replicate(b, a, "p4", "b5");
    expect(older).toMatchObject({ state: "failed" });
    expect(older.error).toMatch(/golden is newer/);
    expect(await golden(b, "p4")).toMatchObject({ build_id: "b6" });

    const small = await createTestSandbox({ goldenQuotaBytes: 1_000_000 });
    try {
      const tooLarge = await replicate(small, a, "p4", "b5");
      expect(tooLarge.error).toMatch(/larger than this sandbox's golden quota/);
      expect(await golden(small, "p4")).toMatchObject({ exists: false });
    } finally {
      await small.close();
    }
    expect(await stagingOf(b)).toEqual([]);
  });

  it("does not fetch back a golden it evicted for space until it has room", async () => {
    await build(a, "p5", "b7");
    await build(a, "p6", "b8");
    const size = (await golden(a, "p5")).size_bytes as number;
    // Room for one of the two goldens.
    const host = await createTestSandbox({ goldenQuotaBytes: Math.floor(size * 1.5) });
    try {
      expect(await replicate(host, a, "p5", "b7")).toMatchObject({ state: "promoted" });
      expect(await replicate(host, a, "p6", "b8")).toMatchObject({ state: "promoted" });
      expect(await golden(host, "p5")).toMatchObject({ exists: false });
      const back = await replicate(host, a, "p5", "b7");
      expect(back.state).toBe("failed");
      expect(back.error).toMatch(/evicted the project's golden for space .* leave no room/);
      // Once there is room, it is fetched.
      expect((await host.request("DELETE", "/v1/goldens/p6")).status).toBe(204);
      expect(await replicate(host, a, "p5", "b7")).toMatchObject({ state: "promoted" });
    } finally {
      await host.close();
    }
  });
});

describe("what a receiver does not take", () => {
  /** A source that answers the manifest with `manifest` and anything else as `a` does. */
  async function sourceSaying(manifest: (real: Record<string, unknown>) => unknown): Promise<string> {
    const server = createServer(async (req, res) => {
      const upstream = await fetch(new URL(req.url ?? "/", a.url), { headers: { authorization: `Bearer ${a.token}` } });
      const body = Buffer.from(await upstream.arrayBuffer());
      res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "" });
      res.end(req.url?.endsWith("/manifest") ? JSON.stringify(manifest(JSON.parse(body.toString()))) : body);
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it("refuses a manifest that names paths outside the tree, or another generation, and touches nothing", async () => {
    await build(a, "p8", "b12");
    const outside = path.join(b.root, "goldens");
    const before = await treeManifest(outside);
    type Entry = { path: string; type: string; linked_to?: string };
    const cases: [string, (real: Record<string, unknown>) => unknown, RegExp][] = [
      [
        "a link out of the tree",
        (real) => {
          const entries = real.entries as Entry[];
          return {
            ...real,
            entries: [...entries, { ...entries[1], path: "../../goldens/x", linked_to: entries[1]?.path }],
          };
        },
        /names a path outside the tree \("\.\.\/\.\.\/goldens\/x"\)/,
      ],
      [
        "an absolute path",
        (real) => ({ ...real, entries: [...(real.entries as Entry[]), { path: "/etc/cron.d/x", type: "file" }] }),
        /names a path outside the tree \("\/etc\/cron.d\/x"\)/,
      ],
      [
        "a path under a directory it does not list",
        (real) => ({ ...real, entries: [...(real.entries as Entry[]), { path: "nowhere/x", type: "file" }] }),
        /"nowhere\/x" is not in a directory it lists/,
      ],
      ["another build", (real) => ({ ...real, build_id: "b99" }), /describes build b99 of project p8/],
      ["no owner numbering", (real) => ({ ...real, owners: undefined }), /does not say how owners are numbered/],
    ];
    for (const [why, manifest, said] of cases) {
      const refused = await replicate(b, { url: await sourceSaying(manifest), token: a.token }, "p8", "b12");
      expect(refused.state, why).toBe("failed");
      expect(refused.error, why).toMatch(/^The source sandbox's manifest cannot be used: /);
      expect(refused.error, why).toMatch(said);
    }
    expect(await treeManifest(outside)).toEqual(before);
    expect(await stagingOf(b)).toEqual([]);
  });

  it("answers a HEAD of an archive without starting one, and takes two equal requests as one", async () => {
    await build(a, "p9", "b13");
    expect((await a.request("HEAD", "/v1/goldens/p9/generations/b13/archive")).status).toBe(405);

    const promoted: string[] = [];
    const unsubscribe = b.services.bus.subscribe(({ event }) => {
      if (event.type === "golden" && event.reason === "promoted") promoted.push(event.golden.project_id);
    });
    const asked = await Promise.all([startReplication(b, a, "p9", "b13"), startReplication(b, a, "p9", "b13")]);
    expect(asked).toEqual([202, 202]);
    expect(await waitForReplication(b, "p9")).toMatchObject({ state: "promoted" });
    await new Promise((resolve) => setTimeout(resolve, 200));
    unsubscribe();
    expect(promoted).toEqual(["p9"]);
    expect(await stagingOf(b)).toEqual([]);
    // Nothing holds the source's generation (the HEAD started no stream): it can be evicted at once.
    expect(await a.services.goldens.evict("p9")).toBe(true);
  });
});

describe("a receiver killed during a transfer", () => {
  let root: string;
  let service: ChildProcess | null = null;
  afterAll(async () => {
    await kill9(service);
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("keeps its complete previous golden, leaves nothing in staging, and fetches the new one after its restart", async () => {
    root = await mkdtemp(path.join(tmpdir(), "replica-crash-"));
    const port = await freePort();
    const start = () =>
      startService(
        entries.sandbox,
        { SANDBOX_ROOT: root, SANDBOX_PORT: String(port), SANDBOX_DOCKER: "off", SANDBOX_STOP_GRACE_MS: "200" },
        `http://127.0.0.1:${port}/v1/health`,
      );
    const call = (method: string, url: string, body?: unknown) =>
      fetch(`http://127.0.0.1:${port}${url}`, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const ask = (buildId: string, sourceUrl: string) =>
      call("POST", "/v1/goldens/p7/replication", { build_id: buildId, source_url: sourceUrl, source_token: a.token });
    const ended = () => waitForReplication(`http://127.0.0.1:${port}`, "p7");
    service = await start();
    await build(a, "p7", "b10");
    expect((await ask("b10", a.url)).status).toBe(202);
    expect(await ended()).toMatchObject({ state: "promoted" });
    const previous = await treeManifest(path.join(root, "goldens", "p7", "current", "docker"));

    await build(a, "p7", "b11");
    expect((await ask("b11", await lossyLink(a, "stall", 300_000))).status).toBe(202);
    while (
      ((await (await call("GET", "/v1/goldens/p7/replication")).json()) as { received_bytes: number })
        .received_bytes === 0
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await readdir(path.join(root, "tmp"))).length).toBe(1);
    await kill9(service);
    service = await start();
    expect(await readdir(path.join(root, "tmp"))).toEqual([]);
    expect(await (await call("GET", "/v1/goldens/p7")).json()).toMatchObject({ build_id: "b10" });
    expect((await treeManifest(path.join(root, "goldens", "p7", "current", "docker"))).entries).toEqual(
      previous.entries,
    );
    // The replication died with the service: asked again, it completes.
    expect((await call("GET", "/v1/goldens/p7/replication")).status).toBe(404);
    expect((await ask("b11", a.url)).status).toBe(202);
    expect(await ended()).toMatchObject({ state: "promoted" });
    expect((await treeManifest(path.join(root, "goldens", "p7", "current", "docker"))).entries).toEqual(
      (await treeManifest(goldenDir(a, "p7"))).entries,
    );
  });
});

describe("between hosts over TLS", () => {
  let work: string;
  let source: ChildProcess | null = null;
  afterAll(async () => {
    await kill9(source);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("fetches from a source that speaks HTTPS with the operator's certificate, and trusts no other", async () => {
    work = await mkdtemp(path.join(tmpdir(), "replica-tls-"));
    // An operator's own CA, and the source's certificate for its address, signed by it.
    const file = (name: string) => path.join(work, name);
    const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
    const newKey = ["-newkey", "rsa:2048", "-nodes"];
    openssl(
      "req",
      "-x509",
      ...newKey,
      "-days",
      "2",
      "-subj",
      "/CN=fleet CA",
      "-keyout",
      file("ca.key"),
      "-out",
      file("ca.pem"),
    );
    openssl("req", ...newKey, "-subj", "/CN=sbx-1", "-keyout", file("host.key"), "-out", file("host.csr"));
    await writeFile(file("ext"), "subjectAltName=IP:127.0.0.1\n");
    openssl(
      ...["x509", "-req", "-in", file("host.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial"],
      ...["-days", "2", "-extfile", file("ext"), "-out", file("host.pem")],
    );
    const ca = await readFile(file("ca.pem"), "utf8");

    const port = await freePort();
    const token = "t".repeat(40);
    const url = `https://127.0.0.1:${port}`;
    source = await startService(
      entries.sandbox,
      {
        SANDBOX_ROOT: file("root"),
        SANDBOX_PORT: String(port),
        SANDBOX_DOCKER: "off",
        SANDBOX_TOKEN: token,
        SANDBOX_TLS_CERT: file("host.pem"),
        SANDBOX_TLS_KEY: file("host.key"),
      },
      `${url}/v1/health`,
      { ca },
    );
    const started = await new Promise<number>((resolve, reject) => {
      const body = JSON.stringify({
        build_id: "b20",
        project_id: "p20",
        startup_script: treeScript,
        run_user: testRunUser("p20"),
      });
      httpsRequest(
        `${url}/v1/builds`,
        { method: "POST", ca, headers: { "content-type": "application/json", authorization: `Bearer ${token}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      )
        .on("error", reject)
        .end(body);
    });
    expect(started).toBe(202);

    const trusting = await createTestSandbox({ peerCa: ca });
    const stranger = await createTestSandbox();
    try {
      // Until the build has promoted, the source answers 404; a receiver asks again, as its caller would.
      let replication: { state: string; error: string | null };
      do {
        await new Promise((resolve) => setTimeout(resolve, 200));
        replication = await replicate(trusting, { url, token }, "p20", "b20");
      } while (replication.state === "failed" && /answered 404/.test(replication.error ?? ""));
      expect(replication, replication.error ?? "").toMatchObject({ state: "promoted" });
      const refused = await replicate(stranger, { url, token }, "p20", "b20");
      expect(refused.state).toBe("failed");
      expect(refused.error).toMatch(/^The source sandbox could not be reached: .*(certificate|self.signed)/i);
    } finally {
      await trusting.close();
      await stranger.close();
    }
  });
});
