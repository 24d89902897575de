// A hostile startup script, run as project B's build and as its test session, tries everything a
// project owner could against project A and the service: read and overwrite A's golden, its spare
// and its running build; read the service's token; kill the service and A's build; escape through
// its own Docker daemon; reach the services on the host's loopback; fill the disk. Each attempt
// prints REFUSED or BREACH; none may breach, A's golden stays byte-identical, A's build succeeds.
// A fork bomb runs last, alone, under small limits.
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import path from "node:path";
import { serve } from "@hono/node-server";
import { treeManifest } from "@prewarm/test-kit/tree-manifest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DockerEngine, findEngine } from "../src/docker/docker-daemon.ts";
import { createTestSandbox, type TestSandbox } from "./helpers.ts";
import { testRunUser } from "./support/run-users.ts";

const token = "hostile-test-token-0123456789abcdefghijklmnopq";
const hostMarkerName = `prewarm-host-marker-${process.pid}`;

let engine: DockerEngine | null = null;
let sandbox: TestSandbox;
let listeners: Server[] = [];
let ports: { service: number; bff: number } = { service: 0, bff: 0 };

beforeAll(async () => {
  if (process.getuid?.() !== 0) return;
  engine = (await findEngine("auto")).engine;
  if (!engine && process.env.CI) throw new Error("CI must run real Docker daemons");
  process.env.SANDBOX_TOKEN = token;
  sandbox = await createTestSandbox({
    docker: engine,
    token,
    spareCopies: 1,
    stopGraceMs: 1000,
    runs: { diskLimitBytes: 96 * 1024 * 1024 },
  });
  // The sandbox itself, and a stand-in for the BFF, on the host's loopback.
  const service = serve({ fetch: sandbox.app.fetch, hostname: "127.0.0.1", port: 0 }) as Server;
  const bff = createServer((_req, res) => res.end("bff")).listen(0, "127.0.0.1");
  listeners = [service, bff];
  await Promise.all(listeners.map((server) => new Promise((resolve) => server.once("listening", resolve))));
  ports = {
    service: (service.address() as AddressInfo).port,
    bff: (bff.address() as AddressInfo).port,
  };
}, 120_000);

afterAll(async () => {
  await rm(path.join("/tmp", hostMarkerName), { force: true });
  for (const server of listeners) server.close();
  delete process.env.SANDBOX_TOKEN;
  await sandbox?.close();
});

/** A's build: a real image, a volume, and (when asked) waiting for the test to say go. */
const buildA = (wait: boolean) =>
  [
    "set -e",
    "mkdir -p ctx && cp /bin/busybox ctx/",
    'printf \'FROM scratch\\nCOPY busybox /bin/busybox\\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\\n\' > ctx/Dockerfile',
    "DOCKER_BUILDKIT=1 docker build -q --network=none -t a-base:1 ctx",
    "docker run --rm --network=none -v a-data:/data a-base:1 sh -c 'echo secret-of-a > /data/secret'",
    "echo secret-of-a > a-workspace-secret",
    "echo secret-of-a > /tmp/a-tmp-secret",
    wait ? "echo waiting; while [ ! -e go ]; do sleep 0.2; done" : "true",
  ].join("\n");

/** Every attempt, each printing REFUSED or BREACH with its name. */
function hostileScript(target: {
  /** How it fills the disk: a file it keeps, or one it deleted and keeps open. */
  fill: "visible" | "deleted";
  root: string;
  runningBuild: string;
  servicePid: number;
  buildPid: number;
  hostMarker: string;
}) {
  const a = `${target.root}/goldens/pa`;
  const attempt = (name: string, command: string) =>
    `if ( ${command} ) >/dev/null 2>&1; then echo "BREACH: ${name}"; else echo "REFUSED: ${name}"; fi`;
  // The token is looked for without ever being written whole into the script (its own file).
  const half = token.length / 2;
  return [
    "set +e",
    `token="${token.slice(0, half)}""${token.slice(half)}"`,
    'echo "I am $(id)"',
    attempt("list A's golden", `ls ${a}/current/docker | grep -q .`),
    attempt("read A's golden record", `cat ${a}/current/golden.json`),
    attempt("read A's volume", `grep -r secret-of-a ${a}/generations`),
    attempt("overwrite A's golden", `echo poisoned >> ${a}/current/golden.json`),
    attempt("plant a file in A's golden", `touch ${a}/current/docker/planted`),
    attempt("read A's spare", `ls ${a}/spares | grep -q .`),
    attempt("read A's running build", `cat ${target.root}/builds/${target.runningBuild}/workspace/a-workspace-secret`),
    attempt("write A's running build", `touch ${target.root}/builds/${target.runningBuild}/generation/docker/planted`),
    attempt(
      "read A's running build's volume",
      `cat ${target.root}/builds/${target.runningBuild}/generation/docker/volumes/a-data/_data/secret`,
    ),
    attempt("read A's running build's /tmp", `cat ${target.root}/builds/${target.runningBuild}/tmp/a-tmp-secret`),
    attempt(
      "reach the host's /tmp",
      `cat /tmp/${target.hostMarker} || cat "$HELIX_DOCKER_DATA_ROOT/../../tmp/.host-tmp/${target.hostMarker}"`,
    ),
    attempt("find the token in its environment", `env | grep -q $token`),
    attempt("find the token in any process's environment", `cat /proc/*/environ | grep -aq $token`),
    attempt("read the service's environment", `cat /proc/${target.servicePid}/environ | grep -aq $token`),
    attempt("find the token in the service's files", `grep -rqa $token ${target.root}`),
    attempt("kill the service", `kill -9 ${target.servicePid} && sleep 1 && kill -0 ${target.servicePid}`),
    attempt("kill A's build", `kill -9 ${target.buildPid} && sleep 1 && kill -0 ${target.buildPid}`),
    attempt("reach the sandbox on loopback", `timeout 5 bash -c 'echo > /dev/tcp/127.0.0.1/${ports.service}'`),
    attempt("reach the BFF on loopback", `timeout 5 bash -c 'echo > /dev/tcp/127.0.0.1/${ports.bff}'`),
    "mkdir -p ctx && cp /bin/busybox ctx/",
    'printf \'FROM scratch\\nCOPY busybox /bin/busybox\\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\\n\' > ctx/Dockerfile',
    "DOCKER_BUILDKIT=1 docker build -q --network=none -t b-base:1 ctx >/dev/null",
    attempt(
      "write the host through -v /:/host",
      `docker run --rm --network=none -v /:/host b-base:1 sh -c 'echo poisoned >> /host${a}/current/golden.json'`,
    ),
    attempt(
      "read A's golden through -v /:/host",
      `docker run --rm --network=none -v /:/host b-base:1 sh -c 'ls /host${a}/current/docker | grep -q .'`,
    ),
    // Not /etc: the daemon's /etc is a copy of its own (rootlesskit's copy-up), which it may write.
    attempt(
      "write the host's /usr through --privileged",
      "docker run --rm --network=none --privileged -v /:/host b-base:1 sh -c 'touch /host/usr/prewarm-breach'",
    ),
    attempt(
      "read the disk through --privileged",
      "docker run --rm --network=none --privileged b-base:1 sh -c 'mknod /d b 8 0 && head -c 512 /d | grep -q .'",
    ),
    attempt(
      "kill the service through --pid=host",
      `docker run --rm --network=none --pid=host b-base:1 sh -c 'kill -9 ${target.servicePid}'`,
    ),
    attempt(
      "drive the daemon from inside a container",
      `docker run --rm --network=none -v \${DOCKER_HOST#unix://}:/d.sock -v /:/host b-base:1 sh -c 'test -S /d.sock && touch /host/usr/prewarm-breach'`,
    ),
    attempt(
      "reach the sandbox on loopback from a container",
      `docker run --rm --network=host b-base:1 sh -c 'echo | timeout 5 nc 127.0.0.1 ${ports.service}'`,
    ),
    // Every place on the host anyone may write: the run has its own of each (checked on the host).
    "for dir in /tmp /var/tmp /dev/shm /run/lock; do touch $dir/prewarm-breach; done 2>/dev/null",
    ...(target.fill === "deleted"
      ? [
          // Into a file it deleted and keeps open, which no listing of its directories shows.
          "echo filling the disk through a deleted file",
          "exec 3>/tmp/fill && rm /tmp/fill && dd if=/dev/zero bs=1M count=4096 status=none >&3",
        ]
      : ["echo filling the disk", "dd if=/dev/zero of=/tmp/fill bs=1M count=4096 status=none"]),
    "sleep 30",
    'echo "BREACH: wrote past its share of disk"',
  ].join("\n");
}

/** Files the script tries to leave on the host, none of which may be there afterwards. */
const hostFiles = ["/usr", "/etc", "/tmp", "/var/tmp", "/dev/shm", "/run/lock"].map((dir) => `${dir}/prewarm-breach`);

const attempts = [
  "list A's golden",
  "read A's golden record",
  "read A's volume",
  "overwrite A's golden",
  "plant a file in A's golden",
  "read A's spare",
  "read A's running build",
  "write A's running build",
  "read A's running build's volume",
  "read A's running build's /tmp",
  "reach the host's /tmp",
  "find the token in its environment",
  "find the token in any process's environment",
  "read the service's environment",
  "find the token in the service's files",
  "kill the service",
  "kill A's build",
  "reach the sandbox on loopback",
  "reach the BFF on loopback",
  "write the host through -v /:/host",
  "read A's golden through -v /:/host",
  "write the host's /usr through --privileged",
  "read the disk through --privileged",
  "kill the service through --pid=host",
  "drive the daemon from inside a container",
  "reach the sandbox on loopback from a container",
];

describe("a hostile startup script", () => {
  it("touches nothing of another project or the service, as a build and as a test session", {
    timeout: 300_000,
  }, async (context) => {
    if (process.getuid?.() !== 0) return context.skip("isolating projects needs a root service");
    if (!engine) return context.skip("no Docker engine");
    // A's golden, and its spare.
    await writeFile(path.join(sandbox.root, "sandbox.env"), `SANDBOX_TOKEN=${token}\n`, { mode: 0o600 });
    await sandbox.startBuild({ build_id: "a1", project_id: "pa", startup_script: buildA(false) });
    expect((await sandbox.waitForBuild("a1")).status).toBe("succeeded");
    const aGolden = path.join(sandbox.root, "goldens", "pa", "generations", "a1");
    const before = await treeManifest(aGolden);

    // A's next build runs while B attacks.
    await sandbox.startBuild({ build_id: "a2", project_id: "pa", startup_script: buildA(true) });
    await expect
      .poll(async () => (await (await sandbox.request("GET", "/v1/builds/a2/log")).text()).includes("waiting"), {
        timeout: 60_000,
      })
      .toBe(true);
    const record = JSON.parse(await readFile(path.join(sandbox.root, "build-records", "a2.json"), "utf8"));
    const target = {
      root: sandbox.root,
      runningBuild: "a2",
      servicePid: process.pid,
      buildPid: record.pid,
      hostMarker: await hostTmpMarker(),
    };

    await sandbox.startBuild({
      build_id: "b1",
      project_id: "pb",
      startup_script: hostileScript({ ...target, fill: "deleted" }),
    });
    const b1 = await sandbox.waitForBuild("b1");
    const buildLog = await (await sandbox.request("GET", "/v1/builds/b1/log")).text();
    await sandbox.request("POST", "/v1/test-sessions", {
      session_id: "t1",
      project_id: "pb",
      startup_script: hostileScript({ ...target, fill: "visible" }),
    });
    await expect
      .poll(async () => (await (await sandbox.request("GET", "/v1/test-sessions/t1")).json()).status, {
        timeout: 120_000,
      })
      .toBe("failed");
    const testLog = await (await sandbox.request("GET", "/v1/test-sessions/t1/log")).text();

    for (const [log, run] of [
      [buildLog, b1],
      [testLog, await (await sandbox.request("GET", "/v1/test-sessions/t1")).json()],
    ] as const) {
      expect(log).not.toContain("BREACH");
      for (const name of attempts) expect(log, name).toContain(`REFUSED: ${name}`);
      // The disk filled past its share stopped the run, saying so.
      expect(run.status).toBe("failed");
      expect(run.error).toContain("more than a run's share of disk");
      expect(log).toContain(`uid=0(root)`);
    }
    expect(b1.error).toContain("the previous golden is untouched");
    await expectAbsent(hostFiles);
    expect(buildLog).toMatch(/Running as prewarm-\d+, the project's own user \(no network\)/);

    // A's golden is byte for byte what it was; A's build carried on and succeeds.
    expect(await treeManifest(aGolden)).toEqual(before);
    await writeFile(path.join(sandbox.root, "builds", "a2", "workspace", "go"), "");
    expect((await sandbox.waitForBuild("a2")).status).toBe("succeeded");
  });
});

describe("a hostile startup script on a sandbox without Docker", () => {
  it("is jailed the same: its own user, /tmp, processes and loopback", { timeout: 120_000 }, async (context) => {
    if (process.getuid?.() !== 0) return context.skip("isolating projects needs a root service");
    // A root outside the host's /tmp, as on a real host: the jail must show none of the host's /tmp.
    const plain = await createTestSandbox({
      root: await mkdtemp("/var/lib/prewarm-test-"),
      token,
      stopGraceMs: 1000,
      runs: { diskLimitBytes: 32 * 1024 * 1024 },
    });
    try {
      await writeFile(path.join(plain.root, "sandbox.env"), `SANDBOX_TOKEN=${token}\n`, { mode: 0o600 });
      const layers = 'mkdir -p "$HELIX_DOCKER_DATA_ROOT/layer" && echo secret-of-a > "$HELIX_DOCKER_DATA_ROOT/layer/a"';
      await plain.startBuild({ build_id: "a1", project_id: "pa", startup_script: layers });
      expect((await plain.waitForBuild("a1")).status).toBe("succeeded");
      const aGolden = path.join(plain.root, "goldens", "pa", "generations", "a1");
      const before = await treeManifest(aGolden);
      const waiting = [
        layers,
        "echo secret-of-a > a-workspace-secret",
        "echo secret-of-a > /tmp/a-tmp-secret",
        "echo waiting; while [ ! -e go ]; do sleep 0.2; done",
      ].join("\n");
      await plain.startBuild({ build_id: "a2", project_id: "pa", startup_script: waiting });
      await expect
        .poll(async () => (await (await plain.request("GET", "/v1/builds/a2/log")).text()).includes("waiting"))
        .toBe(true);
      const record = JSON.parse(await readFile(path.join(plain.root, "build-records", "a2.json"), "utf8"));
      const target = {
        root: plain.root,
        runningBuild: "a2",
        servicePid: process.pid,
        buildPid: record.pid,
        hostMarker: await hostTmpMarker(),
      };
      await plain.startBuild({
        build_id: "b1",
        project_id: "pb",
        startup_script: hostileScript({ ...target, fill: "deleted" }),
      });
      const b1 = await plain.waitForBuild("b1");
      const log = await (await plain.request("GET", "/v1/builds/b1/log")).text();
      expect(log).not.toContain("BREACH");
      // Everything but the attempts through Docker, which this sandbox does not have.
      for (const name of attempts.slice(0, attempts.indexOf("write the host through -v /:/host"))) {
        expect(log, name).toContain(`REFUSED: ${name}`);
      }
      expect(log).toMatch(/uid=\d+\(prewarm-\d+\)/);
      expect(b1.status).toBe("failed");
      expect(b1.error).toContain("more than a run's share of disk");
      await expectAbsent(hostFiles.slice(2));
      expect(await treeManifest(aGolden)).toEqual(before);
      await writeFile(path.join(plain.root, "builds", "a2", "workspace", "go"), "");
      expect((await plain.waitForBuild("a2")).status).toBe("succeeded");
    } finally {
      await plain.close();
    }
  });
});

describe("a startup script that forks without bound", () => {
  it("is held by its processes limit, and everything it started ends with the run", {
    timeout: 120_000,
  }, async (context) => {
    if (process.getuid?.() !== 0) return context.skip("isolating projects needs a root service");
    // Alone, with a small limit: a limit that failed could not take the host down with it.
    const small = await createTestSandbox({ runs: { limits: { processes: 200, openFiles: 1024 } } });
    try {
      const script = ["timeout 10 bash -c 'bomb() { bomb | bomb & }; bomb' 2>&1 | head -3", "sleep 2", "echo survived"];
      await small.startBuild({ build_id: "f1", project_id: "pf", startup_script: script.join("\n") });
      // The service answers while the bomb goes off.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect((await small.request("GET", "/v1/health")).status).toBe(200);
      const build = await small.waitForBuild("f1");
      const log = await (await small.request("GET", "/v1/builds/f1/log")).text();
      expect(log).toContain("Resource temporarily unavailable");
      expect(log).toMatch(/^survived\r?$/m);
      expect(build.status).toBe("succeeded");
      // Nothing of the project's user is left running on the host.
      const uid = String(testRunUser("pf").uid);
      await expect.poll(() => processesOf(uid), { timeout: 10_000 }).toBe(0);
    } finally {
      await small.close();
    }
  });
});

/** How many processes on the host run as `uid`. */
async function processesOf(uid: string): Promise<number> {
  let count = 0;
  for (const entry of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const status = await readFile(`/proc/${entry}/status`, "utf8").catch(() => "");
    if (new RegExp(`^Uid:\\s+${uid}\\s`, "m").test(status)) count++;
  }
  return count;
}

describe("a run where the operator allows outbound access", () => {
  it("reaches out, but never the host's loopback, from the script or a container", {
    timeout: 120_000,
  }, async (context) => {
    if (process.getuid?.() !== 0) return context.skip("isolating projects needs a root service");
    if (!engine) return context.skip("no Docker engine");
    const address = Object.values(networkInterfaces())
      .flat()
      .find((net) => net && net.family === "IPv4" && !net.internal)?.address;
    if (!address) return context.skip("this host has no address but loopback to reach out to");
    const outbound = await createTestSandbox({ docker: engine, stopGraceMs: 1000, runs: { network: "outbound" } });
    // One service on the host's loopback only, one on every address (as "the outside").
    const inside = createServer((_req, res) => res.end("loopback")).listen(0, "127.0.0.1");
    const outside = createServer((_req, res) => res.end("outside")).listen(0, "0.0.0.0");
    try {
      await Promise.all([inside, outside].map((server) => new Promise((resolve) => server.once("listening", resolve))));
      const loopbackPort = (inside.address() as AddressInfo).port;
      const outsidePort = (outside.address() as AddressInfo).port;
      const tries = (name: string, command: string) =>
        `if ( ${command} ) >/dev/null 2>&1; then echo "REACHED: ${name}"; else echo "REFUSED: ${name}"; fi`;
      const script = [
        "mkdir -p ctx && cp /bin/busybox ctx/",
        'printf \'FROM scratch\\nCOPY busybox /bin/busybox\\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\\n\' > ctx/Dockerfile',
        "DOCKER_BUILDKIT=1 docker build -q --network=none -t o-base:1 ctx >/dev/null",
        tries("the outside", `timeout 5 bash -c 'echo > /dev/tcp/${address}/${outsidePort}'`),
        tries("the host's loopback", `timeout 5 bash -c 'echo > /dev/tcp/127.0.0.1/${loopbackPort}'`),
        tries(
          "the host's loopback through the gateway",
          `timeout 5 bash -c 'echo > /dev/tcp/10.0.2.2/${loopbackPort}'`,
        ),
        tries(
          "the outside from a container",
          `docker run --rm --network=host o-base:1 sh -c 'echo | timeout 5 nc ${address} ${outsidePort}'`,
        ),
        tries(
          "the host's loopback from a container",
          `docker run --rm --network=host o-base:1 sh -c 'echo | timeout 5 nc 127.0.0.1 ${loopbackPort}'`,
        ),
      ].join("\n");
      await outbound.startBuild({ build_id: "o1", project_id: "po", startup_script: script });
      const build = await outbound.waitForBuild("o1");
      const log = await (await outbound.request("GET", "/v1/builds/o1/log")).text();
      expect(build.status, log).toBe("succeeded");
      expect(log).toContain("(outbound network, not the host's loopback)");
      expect(log).toContain("REACHED: the outside");
      expect(log).toContain("REACHED: the outside from a container");
      expect(log).toContain("REFUSED: the host's loopback");
      expect(log).toContain("REFUSED: the host's loopback through the gateway");
      expect(log).toContain("REFUSED: the host's loopback from a container");
    } finally {
      inside.close();
      outside.close();
      await outbound.close();
    }
  });
});

/** A file in the host's /tmp that anyone on the host may read: no run may see it. */
async function hostTmpMarker(): Promise<string> {
  await writeFile(path.join("/tmp", hostMarkerName), "the host's /tmp\n", { mode: 0o644 });
  return hostMarkerName;
}

/** None of `files` exists on the host. */
async function expectAbsent(files: string[]): Promise<void> {
  for (const file of files) {
    const found = await readFile(file).then(
      () => "there",
      () => "absent",
    );
    expect(found, file).toBe("absent");
  }
}
