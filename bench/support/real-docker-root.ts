// A real Docker data root of about `megabytes`, made by a real dockerd (the sandbox's own daemon
// code) with plain docker commands, offline: a base image from the host's static busybox, then
// images with a layer of many small files (the shape of node_modules), a large layer, a file
// deleted in a later layer (a whiteout), a named volume written by a container, and a stopped
// container. The daemon is stopped before this returns, as before a promotion.
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { DockerDaemons, findEngine } from "../../apps/sandbox/src/docker/docker-daemon.ts";
import { createLogger } from "../../apps/sandbox/src/logger.ts";

export async function createRealDockerRoot(dockerDir: string, megabytes: number): Promise<void> {
  const { engine, reason } = await findEngine("on");
  if (!engine) throw new Error(reason ?? "no Docker engine");
  const work = await mkdtemp(path.join(tmpdir(), "real-docker-root-"));
  // A root daemon: what is measured here is copying a real tree's shape, not who made it.
  const daemons = new DockerDaemons({
    root: work,
    engine: { ...engine, mode: "root" },
    logger: createLogger("silent"),
    stopGraceMs: 1000,
    scratchDir: work,
    isolated: true,
    limits: { processes: 4096, openFiles: 16_384 },
  });
  const daemon = await daemons.start("bench", dockerDir, path.join(work, "dockerd.log"));
  if (!daemon) throw new Error("no daemon");
  const docker = (...args: string[]) =>
    execFileSync(engine.docker, args, {
      env: { ...process.env, DOCKER_HOST: daemon.host, DOCKER_BUILDKIT: "1" },
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 64 * 1024 * 1024,
    });
  try {
    const base = path.join(work, "base");
    await mkdir(base);
    execFileSync("cp", ["/bin/busybox", path.join(base, "busybox")]);
    await writeFile(
      path.join(base, "Dockerfile"),
      'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n',
    );
    docker("build", "--network=none", "-t", "bench-base:1", base);
    // Four images; each a fifth small files and four fifths one large layer.
    const images = 4;
    const perImage = (megabytes * 1_000_000) / images;
    const smallFiles = Math.max(100, Math.round((perImage * 0.2) / 8192));
    for (let i = 0; i < images; i++) {
      const context = path.join(work, `image${i}`);
      await mkdir(context);
      await writeFile(
        path.join(context, "Dockerfile"),
        [
          "FROM bench-base:1",
          // Each image its own layers: identical steps would be one cached layer.
          `RUN echo image${i} > /name && mkdir -p /deps && for n in $(seq 1 ${smallFiles}); do head -c 8192 /dev/urandom > /deps/f$n; done`,
          `RUN head -c ${Math.round(perImage * 0.8)} /dev/urandom > /blob && mkdir -p /tmp && echo scratch > /tmp/scratch`,
          "RUN rm /tmp/scratch && rm -r /deps/f1 && mkdir -p /etc/app && echo v2 > /etc/app/config",
          `CMD ["cat", "/etc/app/config"]`,
          "",
        ].join("\n"),
      );
      docker("build", "--network=none", "-t", `bench-image${i}:1`, context);
    }
    docker("volume", "create", "bench-data");
    docker(
      "run",
      "--network=none",
      "--name",
      "bench-writer",
      "-v",
      "bench-data:/data",
      "bench-image0:1",
      "sh",
      "-c",
      "echo kept > /data/file",
    );
  } finally {
    await daemon.stop();
    await rm(work, { recursive: true, force: true });
  }
}
