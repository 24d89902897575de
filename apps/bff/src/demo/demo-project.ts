// The demo project `npm start` creates on first start: a local git repository with three
// services, and a startup script that behaves like a real one (prints progress for about 15 s
// and writes a few hundred MB of layers into the Docker directory it is given).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { AuthStore } from "../auth/auth-store.ts";
import type { Logger } from "../logger.ts";
import type { ProjectStore } from "../store/project-store.ts";

const demoProjectId = "demo";

const dockerfiles: Record<string, string[]> = {
  api: ["FROM node:20-slim", "COPY package*.json ./", "RUN npm ci", "COPY . ."],
  web: ["FROM nginx:1.27", "COPY dist /usr/share/nginx/html", "RUN nginx -t", "EXPOSE 80"],
  worker: ["FROM python:3.12-slim", "COPY requirements.txt .", "RUN pip install -r requirements.txt", "COPY . ."],
};

function demoStartupScript(): string {
  return readFileSync(new URL("./demo-startup.sh", import.meta.url), "utf8");
}

async function createDemoRepository(dir: string): Promise<void> {
  if (existsSync(path.join(dir, ".git"))) return;
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "README.md"), "# Demo project\n\nThree services, each with its own image.\n");
  for (const [service, steps] of Object.entries(dockerfiles)) {
    await mkdir(path.join(dir, "services", service), { recursive: true });
    await writeFile(path.join(dir, "services", service, "Dockerfile"), `${steps.join("\n")}\n`);
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
): Promise<void> {
  if (await store.getProject(demoProjectId)) return;
  const [owner] = await auth.listUsers();
  const repository = path.join(dataDir, "demo-repo");
  await createDemoRepository(repository);
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
