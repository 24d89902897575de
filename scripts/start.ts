// `npm start`: the golden filesystem service and the BFF (serving the built web app) on one
// machine, with embedded defaults: PGlite data and the sandbox root under ./data, and a demo
// project. Every default can be overridden through the environment (see README.md).
// `npm run dev` (--dev) runs the same from source, restarting on changes, plus Vite on :5173.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const dataDir = path.resolve(process.env.DATA_DIR ?? path.join(root, "data"));
const sandboxPort = process.env.SANDBOX_PORT ?? "7071";
const port = process.env.PORT ?? "7070";
const host = process.env.HOST ?? "127.0.0.1";
const tsx = path.join(root, "node_modules", ".bin", "tsx");
const dev = process.argv.includes("--dev");

const children: ChildProcess[] = [];

function start(name: string, entry: string, env: NodeJS.ProcessEnv): ChildProcess {
  // One process per service (node loading tsx), so a signal reaches the service itself. Each in a
  // process group of its own: a Ctrl-C reaches this script alone, which passes it on exactly once,
  // and a second Ctrl-C, passed on too, is the services' "stop now".
  const [command, args] = !entry.endsWith(".ts")
    ? ["npx", entry.split(" ")]
    : dev
      ? [tsx, ["watch", entry]]
      : [process.execPath, ["--import", "tsx", entry]];
  const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: "inherit", detached: true });
  child.on("exit", (code, signal) => {
    if (stopping) return;
    console.error(`${name} stopped (${signal ?? `exit code ${code}`}); stopping everything.`);
    shutdown("SIGTERM", code ?? 1);
  });
  children.push(child);
  return child;
}

let stopping = false;
function shutdown(signal: NodeJS.Signals, code: number) {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  if (stopping) return;
  stopping = true;
  Promise.all(
    children.map((child) =>
      child.exitCode === null && child.signalCode === null
        ? new Promise((resolve) => child.once("exit", resolve))
        : null,
    ),
  ).then(() => process.exit(code));
}
process.on("SIGINT", () => shutdown("SIGINT", 0));
process.on("SIGTERM", () => shutdown("SIGTERM", 0));
// Should this script end some other way, the services end with it.
process.on("exit", () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

// The BFF and the sandbox share a token, so nothing else on the machine can drive the sandbox.
const sandboxToken = process.env.SANDBOX_TOKEN ?? randomBytes(32).toString("base64url");

start("sandbox", "apps/sandbox/src/index.ts", {
  SANDBOX_TOKEN: sandboxToken,
  SANDBOX_ROOT: process.env.SANDBOX_ROOT ?? path.join(dataDir, "sandbox"),
  SANDBOX_PORT: sandboxPort,
  SANDBOX_HOST: process.env.SANDBOX_HOST ?? "127.0.0.1",
});
start("bff", "apps/bff/src/index.ts", {
  DATA_DIR: dataDir,
  PORT: port,
  HOST: host,
  SANDBOX_URL: process.env.SANDBOX_URL ?? `http://127.0.0.1:${sandboxPort}`,
  WEB_DIST: process.env.WEB_DIST ?? path.join(root, "apps", "web", "dist"),
  SEED_DEMO: process.env.SEED_DEMO ?? "true",
  SANDBOX_TOKEN: sandboxToken,
  // Vite serves the pages in development; changes made from them are the app's own.
  ...(dev ? { ALLOWED_ORIGINS: process.env.ALLOWED_ORIGINS ?? "http://127.0.0.1:5173,http://localhost:5173" } : {}),
});

if (dev) start("vite", "vite --config apps/web/vite.config.ts apps/web", { BFF_URL: `http://127.0.0.1:${port}` });

// Say where to go once the BFF answers, not before.
const shownHost = host === "0.0.0.0" ? "127.0.0.1" : host;
const health = `http://${shownHost}:${port}/api/v1/health`;
for (let attempt = 0; attempt < 240 && !stopping; attempt++) {
  const up = await fetch(health).then(
    (res) => res.ok,
    () => false,
  );
  if (up) {
    const url = dev ? "http://127.0.0.1:5173/" : `http://${shownHost}:${port}/`;
    console.log(
      `\n  Pre-warm Docker cache is running: open ${url}\n  (the first start prints a one-time login link above; later: npm run admin -- login-link owner)\n`,
    );
    break;
  }
  await new Promise((resolve) => setTimeout(resolve, 250));
}
