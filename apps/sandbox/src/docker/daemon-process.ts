// The processes of a daemon as the service sees them: started in a process group of their own,
// waited for until they answer, asked what they are, and ended with SIGTERM before SIGKILL.
import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { request } from "node:http";
import { withInheritedUmask } from "@prewarm/service-kit/private-files";
import type { DockerEngineUsed } from "./docker-daemon.ts";

const startTimeoutMs = 30_000;

/** A daemon that would not start, or would not stop cleanly; `logTail` is its last words. */
export class DaemonError extends Error {
  constructor(message: string, logTail: string) {
    super(logTail ? `${message}. The daemon's last log lines:\n${logTail}` : message);
    this.name = "DaemonError";
  }
}

/** In a process group of its own, so the service's signals and its end do not reach it by accident. */
export function spawnDetached(program: string, args: string[], logFd: number): ChildProcess {
  // With the umask the service was started with: what the daemon writes into the Docker
  // directory has the modes it would have anywhere else.
  const [command, commandArgs] = withInheritedUmask(program, args);
  const child = spawn(command, commandArgs, { detached: true, stdio: ["ignore", logFd, logFd] });
  child.on("error", () => undefined);
  return child;
}

/** Polls `ready` until it holds; throws when `child` exits first or the start takes too long. */
export async function waitUntil(name: string, child: ChildProcess, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited (${child.exitCode ?? child.signalCode})`);
    }
    if (await ready()) return;
    if (Date.now() > deadline) throw new Error(`${name} did not answer within ${startTimeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** What the daemon says it is: `GET /info`'s version and storage driver. */
export function engineUsed(socket: string): Promise<Omit<DockerEngineUsed, "rootless">> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path: "/info", timeout: 10_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => {
        body += chunk;
      });
      res.on("end", () => {
        try {
          const info = JSON.parse(body) as { ServerVersion?: string; Driver?: string };
          resolve({ version: info.ServerVersion ?? "unknown", storage_driver: info.Driver ?? "unknown" });
        } catch (error) {
          reject(error);
        }
      });
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("dockerd did not say what it is within 10 s")));
    req.end();
  });
}

export function ping(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: "/_ping", timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

/** SIGTERM, then waits; SIGKILL if it outlives `timeoutMs`. True when SIGTERM was enough. */
export function terminateChild(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      resolve(false);
    }, timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
    child.kill("SIGTERM");
  });
}

/** The end of the daemon's log, where a failing daemon says why. */
export async function logTail(file: string, lines = 15): Promise<string> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}
