// The demo project `npm start` creates on first start: a local git repository with three
// services, each with a Dockerfile, and a startup script that builds their images with the run's
// Docker daemon, offline (demo-startup.sh). Cold, each service's two slow steps take
// `stepSeconds` each (about a minute in all by default); from a golden they come out CACHED.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { AuthStore } from "../auth/auth-store.ts";
import type { Logger } from "../logger.ts";
import type { ProjectStore } from "../store/project-store.ts";

const demoProjectId = "demo";

/** What each service's image does on top of the base image: its slow steps and what they leave. */
const services: Record<string, { install: string; megabytes: number; build: string }> = {
  api: { install: "installing node modules", megabytes: 60, build: "compiling the api" },
  web: { install: "installing web dependencies", megabytes: 40, build: "bundling the web app" },
  worker: { install: "installing python packages", megabytes: 50, build: "compiling the worker" },
};

function dockerfile(service: string, stepSeconds: number): string {
  const { install, megabytes, build } = services[service] as (typeof services)[string];
  return [
    "FROM demo-base:1",
    "WORKDIR /app",
    "COPY Dockerfile /app/",
    `RUN echo "${install}" && sleep ${stepSeconds} && head -c ${megabytes * 1_000_000} /dev/urandom > /app/dependencies.bin`,
    `RUN echo "${build}" && sleep ${stepSeconds} && echo "${service} ready" > /app/ready`,
    'CMD ["cat", "/app/ready"]',
    "",
  ].join("\n");
}

export function demoStartupScript(): string {
  return readFileSync(new URL("./demo-startup.sh", import.meta.url), "utf8");
}

export async function createDemoRepository(dir: string, stepSeconds: number): Promise<void> {
  if (existsSync(path.join(dir, ".git"))) return;
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "README.md"), "# Demo project\n\nThree services, each with its own image.\n");
  for (const service of Object.keys(services)) {
    await mkdir(path.join(dir, "services", service), { recursive: true });
    await writeFile(path.join(dir, "services", service, "Dockerfile"), dockerfile(service, stepSeconds));
  }
  const git = (...args: string[]) =>
    execFileSync("git", args, {
      cwd: dir,
      stdio: "ignore",
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: "Demo",
        GIT_AUTHOR_EMAIL: "demo@localhost",
        GIT_COMMITTER_NAME: "Demo",
        GIT_COMMITTER_EMAIL: "demo@localhost",
      },
    });
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git("commit", "-q", "-m", "Demo services");
}

/** Creates the demo project, owned by the first user, unless it exists. */
export async function seedDemoProject(
  store: ProjectStore,
  auth: AuthStore,
  dataDir: string,
  logger: Logger,
  /** How long each slow step of a cold build takes. */
  stepSeconds = 10,
): Promise<void> {
  if (await store.getProject(demoProjectId)) return;
  const [owner] = await auth.listUsers();
  const repository = path.join(dataDir, "demo-repo");
  await createDemoRepository(repository, stepSeconds);
  await store.createProject(
    {
      name: "Demo project",
      repository_url: repository,
      default_branch: "main",
      startup_script: demoStartupScript(),
      owner_id: owner?.id ?? null,
    },
    demoProjectId,
  );
  logger.info({ projectId: demoProjectId, repository }, "created the demo project");
}
