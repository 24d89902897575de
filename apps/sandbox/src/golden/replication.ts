// Replication: a generation of a project's golden, fetched from another host that has it and
// promoted here. At most one runs per project; asking for another generation cancels it.
// Invariant: a replica becomes the golden only whole, and only once every one of its paths equals
// the source's manifest (metadata and content hash). It is unpacked in tmp/ (swept at every start,
// so what a crash of either host leaves there is never promoted) and promoted with promote.ts's
// atomic switch, under the project's lock, after a last check there: not once the golden was
// deleted or the replication cancelled since it started, and not over a newer golden.
import { mkdir } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { get as httpGet } from "node:http";
import { get as httpsGet } from "node:https";
import path from "node:path";
import { text } from "node:stream/consumers";
import { rootCertificates } from "node:tls";
import type { components } from "@prewarm/api-types/sandbox";
import prettyBytes from "pretty-bytes";
import type { DockerDaemons } from "../docker/docker-daemon.ts";
import type { EventBus } from "../events/event-bus.ts";
import { planCopy } from "../fs/copy-plan.ts";
import { ownerNumbering, runOnDaemonFiles, startOnDaemonFiles, startTool } from "../fs/daemon-files.ts";
import { diskFreeBytes } from "../fs/disk.ts";
import { removeTree, writeFileAtomic } from "../fs/durable.ts";
import { type ManifestEntry, manifestDifferences, treeManifest } from "../fs/tree-manifest.ts";
import type { SandboxLayout } from "../layout.ts";
import type { Logger } from "../logger.ts";
import { readCurrentGeneration, readGenerationMeta } from "./generations.ts";
import { archiveFlags } from "./golden-archive.ts";
import type { GoldenQuota } from "./golden-quota.ts";
import type { Goldens } from "./goldens.ts";
import { type PromoteDeps, promote } from "./promote.ts";
import type { Spares } from "./spares.ts";

type Replication = components["schemas"]["Replication"];
type StartReplicationRequest = components["schemas"]["StartReplicationRequest"];
type GoldenManifest = components["schemas"]["GoldenManifest"];

interface Deps extends PromoteDeps {
  layout: SandboxLayout;
  goldens: Goldens;
  quota: GoldenQuota;
  spares: Spares;
  bus: EventBus;
  logger: Logger;
  daemons: DockerDaemons;
  /** A CA (PEM) trusted, besides the system's, in a source's certificate. */
  peerCa: string | null;
}

/** Why a replication ended without promoting; its message is the replication's error. */
class ReplicationError extends Error {
  override name = "ReplicationError";
}

/** The generation became the golden here meanwhile (another replication of it): nothing to do. */
class AlreadyHere extends Error {
  override name = "AlreadyHere";
}

interface Running {
  view: Replication;
  abort: AbortController;
  /** Why it was cancelled, once it is. */
  cancelled: string | null;
  done: Promise<void>;
}

/** How long a source may send nothing before the replication gives up on it. */
const idleTimeoutMs = 60_000;

/** How often progress is published at most, in milliseconds. */
const progressEveryMs = 1000;

export class Replications {
  private readonly deps: Deps;
  private readonly byProject = new Map<string, Running>();

  constructor(deps: Deps) {
    this.deps = deps;
  }

  /** The project's replication, running or the last one since the service started. */
  get(projectId: string): Replication | null {
    const running = this.byProject.get(projectId);
    return running ? { ...running.view } : null;
  }

  /**
   * Starts fetching the generation, unless it is being fetched (that replication is answered)
   * or is already the golden here (answered as promoted, `already` true). The replication is
   * registered before anything is awaited, so a second request, a cancel or a delete that comes
   * meanwhile always finds it.
   */
  async start(
    projectId: string,
    request: StartReplicationRequest,
  ): Promise<{ replication: Replication; already: boolean }> {
    const running = this.byProject.get(projectId);
    if (running && running.view.build_id === request.build_id && !running.view.finished_at) {
      return { replication: { ...running.view }, already: false };
    }
    const previous = running && !running.view.finished_at ? running : null;
    const entry: Running = {
      view: {
        project_id: projectId,
        build_id: request.build_id,
        source_url: request.source_url,
        state: "receiving",
        progress: 0,
        received_bytes: 0,
        size_bytes: 0,
        started_at: new Date().toISOString(),
        finished_at: null,
        error: null,
      },
      abort: new AbortController(),
      cancelled: null,
      done: Promise.resolve(),
    };
    this.byProject.set(projectId, entry);
    if (previous) {
      previous.cancelled = "A newer generation was asked for";
      previous.abort.abort();
      await previous.done;
    }
    if (!entry.cancelled && (await readCurrentGeneration(this.deps.layout, projectId)) === request.build_id) {
      const meta = await readGenerationMeta(this.deps.layout, projectId, request.build_id);
      Object.assign(entry.view, { state: "promoted", progress: 1, size_bytes: meta.size_bytes });
      entry.view.finished_at = new Date().toISOString();
      return { replication: { ...entry.view }, already: true };
    }
    this.publish(entry);
    entry.done = this.run(entry, request);
    return { replication: { ...entry.view }, already: false };
  }

  /** Stops the project's replication, if one is running, and waits until it has ended. */
  async cancel(projectId: string, reason: string): Promise<void> {
    const running = this.byProject.get(projectId);
    if (!running || running.view.finished_at) return;
    running.cancelled = reason;
    running.abort.abort();
    await running.done;
  }

  /** Ends every replication, for shutdown. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.byProject.keys()].map((id) => this.cancel(id, "The sandbox was shut down")));
  }

  private async run(entry: Running, request: StartReplicationRequest): Promise<void> {
    const { layout, logger } = this.deps;
    const projectId = entry.view.project_id;
    const staging = layout.tmpPath("replica");
    const dockerDir = path.join(staging, "docker");
    let ending: Partial<Replication>;
    try {
      if (entry.cancelled) throw new ReplicationError(entry.cancelled);
      const manifest = await this.fetchManifest(entry, request);
      entry.view.size_bytes = manifest.size_bytes;
      await this.refuseWhatCannotBeKept(projectId, manifest, dockerDir);
      await mkdir(dockerDir, { recursive: true, mode: 0o700 });
      await this.receive(entry, request, manifest, dockerDir);
      this.update(entry, { state: "verifying" }, true);
      // What tar cannot make is made once the rest is checked: every directory it goes through
      // is then one the manifest names, none a symlink an archive slipped in.
      const links = nonFileLinks(manifest);
      await this.check(entry, manifest, dockerDir, links.length > 0);
      if (links.length > 0) await relink(dockerDir, manifest, links, entry.abort.signal);
      await this.promote(entry, manifest, staging);
      ending = { state: "promoted", progress: 1 };
      logger.info({ projectId, buildId: request.build_id, from: request.source_url }, "promoted a replica");
    } catch (error) {
      if (error instanceof AlreadyHere) {
        ending = { state: "promoted", progress: 1 };
      } else if (entry.cancelled) {
        ending = { state: "cancelled", error: entry.cancelled };
      } else {
        const message = error instanceof ReplicationError ? error.message : `Replication failed: ${describe(error)}`;
        logger.warn({ projectId, buildId: request.build_id, error: message }, "a replication failed");
        ending = { state: "failed", error: message };
      }
    }
    // Staging goes before the end is told: whoever sees the end sees nothing left of it.
    await removeTree(staging).catch(() => undefined);
    this.finish(entry, ending);
  }

  /** Compares the unpacked tree with the manifest; hard links tar does not make are left out when asked. */
  private async check(entry: Running, manifest: GoldenManifest, dockerDir: string, withoutNonFileLinks: boolean) {
    const copy = await treeManifest(dockerDir, { signal: entry.abort.signal });
    const ignore = (entries: ManifestEntry[]) =>
      withoutNonFileLinks
        ? entries.map((e) => (e.type === "file" || e.linked_to === undefined ? e : { ...e, linked_to: undefined }))
        : entries;
    const differences = manifestDifferences(ignore(copy.entries), ignore(manifest.entries));
    if (differences.length > 0) {
      throw new ReplicationError(`The copy differs from the source's manifest: ${differences.join("; ")}`);
    }
  }

  private async fetchManifest(entry: Running, request: StartReplicationRequest): Promise<GoldenManifest> {
    const { project_id: projectId, build_id: buildId } = entry.view;
    const response = await this.fetchFromSource(
      request,
      `/v1/goldens/${projectId}/generations/${buildId}/manifest`,
      entry,
    );
    let manifest: GoldenManifest;
    try {
      manifest = JSON.parse(await text(response)) as GoldenManifest;
    } catch {
      throw new ReplicationError("The source sandbox's manifest is not JSON");
    }
    const problem = manifestProblem(manifest, projectId, buildId);
    if (problem) throw new ReplicationError(`The source sandbox's manifest cannot be used: ${problem}`);
    return manifest;
  }

  /** Refuses, before anything is fetched, a golden this host could not open or keep. */
  private async refuseWhatCannotBeKept(projectId: string, manifest: GoldenManifest, dockerDir: string): Promise<void> {
    const { daemons, quota, layout } = this.deps;
    const here = await ownerNumbering();
    if (manifest.owners !== here) {
      throw new ReplicationError(
        here === "host"
          ? "The golden comes from a sandbox service that is not root, whose files' owners are numbered within its own user namespace, and this one numbers them as the host does: not fetched"
          : "The golden comes from a sandbox service that runs as root, whose files' owners are numbered as its host does, and this one is not root: not fetched",
      );
    }
    const unusable = await daemons.goldenProblem(manifest.docker_engine, dockerDir);
    if (unusable) throw new ReplicationError(`${unusable}: not fetched`);
    const noRoom = await quota.roomForReplica(projectId, manifest.size_bytes);
    if (noRoom) throw new ReplicationError(`${noRoom}: not fetched`);
    const free = await diskFreeBytes(layout.root);
    if (free < manifest.size_bytes) {
      throw new ReplicationError(
        `Not enough disk for the golden (${prettyBytes(manifest.size_bytes)}; ${prettyBytes(free)} free): not fetched`,
      );
    }
  }

  /**
   * Streams the archive into `dockerDir` through tar (and zstd), counting what arrives. However
   * it ends, its tools have ended when this returns: nothing writes into staging afterwards.
   */
  private async receive(entry: Running, request: StartReplicationRequest, manifest: GoldenManifest, dockerDir: string) {
    const { project_id: projectId, build_id: buildId } = entry.view;
    const compression = request.compression ?? "none";
    const body = await this.fetchFromSource(
      request,
      `/v1/goldens/${projectId}/generations/${buildId}/archive?compression=${compression}`,
      entry,
    );
    // The tools stop on a cancel, and when anything else in the pipeline fails.
    const stop = new AbortController();
    const cancel = () => stop.abort();
    entry.abort.signal.addEventListener("abort", cancel);
    const cut = new Promise<never>((_, reject) => {
      body.on("error", (error) => reject(new ReplicationError(`The transfer was cut short: ${describe(error)}`)));
    });
    cut.catch(() => undefined);
    body.on("data", (chunk: Buffer) => {
      entry.view.received_bytes += chunk.length;
    });
    const zstd =
      compression === "zstd" ? startTool(["zstd", "-d", "-q", "-c"], { stdin: body, signal: stop.signal }) : null;
    // Counted as it passes (a listener beside the pipe, not a stage in it: a stage costs a copy).
    const archive = zstd?.stdout ?? body;
    const expected = archiveSizeEstimate(manifest);
    let unpacked = 0;
    let lastPublished = 0;
    archive.on("data", (chunk: Buffer) => {
      unpacked += chunk.length;
      entry.view.progress = Math.min(0.99, unpacked / expected);
      const now = Date.now();
      if (now - lastPublished >= progressEveryMs) {
        lastPublished = now;
        this.publish(entry);
      }
    });
    const tar = await startOnDaemonFiles(["tar", ...archiveFlags, "--same-owner", "-xpf", "-"], {
      cwd: dockerDir,
      stdin: archive,
      signal: stop.signal,
    });
    tar.stdout.resume();
    const tools = Promise.all([tar.done, zstd?.done]);
    try {
      await Promise.race([tools, cut]);
    } catch (error) {
      stop.abort();
      body.destroy();
      await tools.catch(() => undefined);
      if (error instanceof ReplicationError) throw error;
      throw new ReplicationError(`The archive could not be unpacked: ${describe(error)}`);
    } finally {
      entry.abort.signal.removeEventListener("abort", cancel);
    }
  }

  private async promote(entry: Running, manifest: GoldenManifest, staging: string): Promise<void> {
    const { quota, goldens, spares, bus, layout } = this.deps;
    const projectId = entry.view.project_id;
    const plan = await planCopy(path.join(staging, "docker"));
    // The manifest is this copy's too: this host can be the source of the next one at once.
    await writeFileAtomic(path.join(staging, "manifest.json"), JSON.stringify(manifest));
    const meta = {
      build_id: manifest.build_id,
      built_at: manifest.built_at,
      size_bytes: plan.totalBytes,
      docker_engine: manifest.docker_engine,
    };
    const guard = async (current: string | null) => {
      if (entry.cancelled) throw new ReplicationError(entry.cancelled);
      if (current === manifest.build_id) throw new AlreadyHere();
      if (current === null) return;
      const here = await readGenerationMeta(layout, projectId, current);
      if (here.built_at >= manifest.built_at) {
        throw new ReplicationError(`This sandbox's golden is newer (built ${here.built_at}): not promoted`);
      }
    };
    // Once before the quota makes room (it may evict other goldens), and again under the lock.
    await guard(await readCurrentGeneration(layout, projectId));
    const promotion = await quota.admit(projectId, plan.totalBytes, () =>
      promote(this.deps, projectId, meta, { plan, staged: staging, guard }),
    );
    spares.refill(projectId);
    bus.publish({ type: "golden", reason: "promoted", golden: await goldens.info(projectId), detail: null });
    void promotion.retirePrevious().catch(() => undefined);
  }

  /**
   * A GET of the source, answered 200: its body as a Node stream (node:http rather than fetch,
   * whose web streams cost a copy of every chunk on the way into tar).
   */
  private async fetchFromSource(
    request: StartReplicationRequest,
    route: string,
    entry: Running,
  ): Promise<IncomingMessage> {
    // Relative to the source's URL, which may have a path of its own (behind a proxy).
    const url = new URL(route.replace(/^\//, ""), withSlash(request.source_url));
    let response: IncomingMessage;
    try {
      response = await new Promise<IncomingMessage>((resolve, reject) => {
        const headers = request.source_token ? { authorization: `Bearer ${request.source_token}` } : {};
        const signal = entry.abort.signal;
        const { peerCa } = this.deps;
        const asked =
          url.protocol === "https:"
            ? httpsGet(url, { headers, signal, ...(peerCa ? { ca: [...rootCertificates, peerCa] } : {}) })
            : httpGet(url, { headers, signal });
        // A source that goes silent (a host gone without closing the connection) ends the wait.
        asked.setTimeout(idleTimeoutMs, () => asked.destroy(new Error(`nothing came for ${idleTimeoutMs / 1000} s`)));
        asked.on("response", resolve).on("error", reject);
      });
    } catch (error) {
      if (entry.cancelled) throw error;
      throw new ReplicationError(`The source sandbox could not be reached: ${describe(error)}`);
    }
    if (response.statusCode === 200) return response;
    const said = await text(response).catch(() => "");
    const detail = (() => {
      try {
        return (JSON.parse(said) as { detail?: string }).detail ?? said;
      } catch {
        return said;
      }
    })();
    throw new ReplicationError(`The source sandbox answered ${response.statusCode}: ${detail.slice(0, 300)}`);
  }

  private update(entry: Running, change: Partial<Replication>, publish: boolean): void {
    Object.assign(entry.view, change);
    if (publish) this.publish(entry);
  }

  private finish(entry: Running, change: Partial<Replication>): void {
    this.update(entry, { ...change, finished_at: new Date().toISOString() }, true);
  }

  private publish(entry: Running): void {
    this.deps.bus.publish({ type: "replication", replication: { ...entry.view } });
  }
}

/** Entries hard-linked to another that are not regular files (GNU tar links regular files only). */
function nonFileLinks(manifest: GoldenManifest): ManifestEntry[] {
  return manifest.entries.filter((entry) => entry.linked_to !== undefined && entry.type !== "file");
}

/**
 * Overlay links its whiteouts (device nodes) to one another, which tar does not keep: those links
 * are made again from the manifest (whose paths were checked, and whose directories were just
 * found to be real directories), and the directories holding them get back the times the linking
 * changed. Then the links and times are checked.
 */
async function relink(dockerDir: string, manifest: GoldenManifest, links: ManifestEntry[], signal: AbortSignal) {
  const pairs = links.map((entry) => `${entry.linked_to}\0${entry.path}\0`).join("");
  await runOnDaemonFiles(["xargs", "-0", "-n", "2", "ln", "-f", "--"], {
    cwd: dockerDir,
    signal,
    stdin: Buffer.from(pairs),
  });
  const parents = new Set(links.map((entry) => path.dirname(entry.path)));
  const dirs = manifest.entries.filter((entry) => parents.has(entry.path) && entry.mtime !== undefined);
  // The time and the name are arguments of the shell, never part of its script.
  await runOnDaemonFiles(["xargs", "-0", "-n", "2", "sh", "-c", 'exec touch -h -c -d "$0" -- "$1"'], {
    cwd: dockerDir,
    signal,
    stdin: Buffer.from(dirs.map((entry) => `@${entry.mtime}\0${entry.path}\0`).join("")),
  });
  const named = [...new Set(links.flatMap((entry) => [entry.path, entry.linked_to as string]))];
  const seen = new Map<string, string>();
  let said = "";
  await runOnDaemonFiles(
    [
      "find",
      ...dirs.map((entry) => `./${entry.path}`),
      ...named.map((name) => `./${name}`),
      "-maxdepth",
      "0",
      "-printf",
      "%i %T@ %p\\0",
    ],
    {
      cwd: dockerDir,
      signal,
      onStdout: (chunk) => (said += chunk.toString("utf8")),
    },
  );
  for (const record of said.split("\0").filter(Boolean)) {
    const [inode = "", mtime = "", ...rest] = record.split(" ");
    // %p is the name as given: "./" and the path.
    seen.set(rest.join(" ").slice(2), `${inode} ${mtime}`);
  }
  for (const entry of links) {
    const inodeOf = (name: string) => seen.get(name)?.split(" ")[0];
    if (inodeOf(entry.path) === undefined || inodeOf(entry.path) !== inodeOf(entry.linked_to as string)) {
      throw new ReplicationError(`The copy differs from the source's manifest: ${entry.path}: linked_to differ`);
    }
  }
  for (const dir of dirs) {
    if (seen.get(dir.path)?.split(" ")[1] !== dir.mtime) {
      throw new ReplicationError(`The copy differs from the source's manifest: ${dir.path}: mtime differ`);
    }
  }
}

/**
 * Why a manifest cannot describe this generation's copy, or null: it names another project or
 * build, or a path that is not plainly inside the tree (absolute, empty, `.` or `..` segments).
 */
function manifestProblem(manifest: GoldenManifest, projectId: string, buildId: string): string | null {
  if (manifest.project_id !== projectId || manifest.build_id !== buildId) {
    return `it describes build ${manifest.build_id} of project ${manifest.project_id}`;
  }
  if (manifest.owners !== "host" && manifest.owners !== "namespace") return "it does not say how owners are numbered";
  if (!Array.isArray(manifest.entries)) return "it lists no entries";
  const dirs = new Set(manifest.entries.filter((entry) => entry.type === "dir").map((entry) => entry.path));
  for (const entry of manifest.entries) {
    for (const name of [entry.path, entry.linked_to]) {
      if (name === undefined || name === ".") continue;
      if (typeof name !== "string" || name.split("/").some((part) => part === "" || part === "." || part === "..")) {
        return `it names a path outside the tree (${JSON.stringify(name)})`;
      }
      const parent = path.dirname(name);
      if (parent !== "." && !dirs.has(parent)) return `${JSON.stringify(name)} is not in a directory it lists`;
    }
  }
  return null;
}

/** The tar archive's likely size: headers (with POSIX extended ones) and 512-byte blocks of content. */
function archiveSizeEstimate(manifest: GoldenManifest): number {
  let bytes = 1024;
  for (const entry of manifest.entries) {
    bytes += 1536;
    if (entry.type === "file" && entry.linked_to === undefined) bytes += Math.ceil((entry.size ?? 0) / 512) * 512;
  }
  return bytes;
}

function withSlash(url: string): string {
  return url.endsWith("/") ? url : `${url}/`;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}
