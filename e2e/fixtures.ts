// What every spec starts from: a project of its own on the BFF, the mock sandbox to play the
// sandbox's part, and the settings page as a person sees it.
import { mkdir } from "node:fs/promises";
import path from "node:path";
import AxeBuilder from "@axe-core/playwright";
import {
  type Browser,
  test as base,
  expect,
  type Locator,
  type Page,
  type PlaywrightWorkerArgs,
} from "@playwright/test";
import { MockSandboxControl } from "../packages/mock-sandbox/src/control-client.ts";
import type { Build } from "../packages/mock-sandbox/src/mock-sandbox.ts";
import { ports } from "./ports.ts";
import { apiToken, type E2eUser, users } from "./users.ts";

// The README shows the page in each state from docs/screenshots; `npm run screenshots` refreshes
// them there. Other runs keep theirs with the run's artifacts, so a test run changes no file of
// the repository.
const screenshotDir = path.resolve(
  import.meta.dirname,
  "..",
  process.env.SCREENSHOT_DIR ?? path.join("e2e", ".artifacts", "screenshots"),
);
const defaultScript = "#!/bin/bash\nset -e\ndocker compose build\n";

export class SettingsPage {
  readonly page: Page;
  readonly projectId: string;
  readonly toggle: Locator;
  readonly status: Locator;
  readonly viewer: Locator;
  readonly terminal: Locator;
  readonly editor: Locator;

  constructor(page: Page, projectId: string) {
    this.page = page;
    this.projectId = projectId;
    this.toggle = page.getByRole("switch", { name: "Pre-warm Docker cache" });
    this.status = page.getByRole("status");
    this.viewer = page.getByRole("region", { name: "Docker Cache Build" });
    this.terminal = this.viewer.getByTestId("build-terminal");
    this.editor = page.getByRole("textbox", { name: "Startup script" });
  }

  /** Opens the page and waits until the owner can use it: the editor has loaded and is theirs to edit. */
  async open(): Promise<void> {
    await this.page.goto(`/projects/${this.projectId}/settings`);
    await expect(this.page.getByRole("heading", { name: "Project settings" })).toBeVisible();
    await expect(this.editor).toBeEditable();
  }

  /** Turns the cache off, as the owner would, and waits until the BFF has saved it. */
  async turnOff(): Promise<void> {
    await this.toggle.click();
    await expect(this.toggle).not.toBeChecked();
  }

  /** Turns the cache on, as the owner would, and waits for the page to say a build started. */
  async turnOn(): Promise<void> {
    await this.toggle.click();
    await expect(this.toggle).toBeChecked();
    await expect(this.status).toHaveText(/^Building…/);
  }

  button(name: string): Locator {
    return this.page.getByRole("button", { name, exact: true });
  }

  /**
   * Saves a screenshot of the page as it is, for people to look at after the run, and checks the
   * state shown is accessible: every state a spec photographs is also checked by axe.
   */
  async snapshot(name: string): Promise<void> {
    await snapshot(this.page, name);
  }
}

/** What axe-core finds wrong with the page as it is (WCAG 2.1 A and AA), one line each. */
async function accessibilityViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  return results.violations.flatMap((violation) =>
    violation.nodes.map(
      (node) =>
        `${violation.id}: ${violation.help} — ${node.target.join(" ")} ${node.html.slice(0, 160)} ${node.failureSummary ?? ""}`,
    ),
  );
}

/**
 * Resolves once no finite animation is running: a dialog fading in or a chip's transition is
 * photographed and checked at rest, as people see it, not with colours half-way. Endless ones (a
 * building state's progress bar) never finish and are left out.
 */
async function settled(page: Page): Promise<void> {
  await page.waitForFunction(() =>
    document
      .getAnimations()
      .every((animation) => animation.playState !== "running" || animation.effect?.getTiming().iterations === Infinity),
  );
}

/** A screenshot for people to look at, after axe found nothing wrong with the state shown. */
export async function snapshot(page: Page, name: string): Promise<void> {
  await settled(page);
  expect(await accessibilityViolations(page), `accessibility of ${name}`).toEqual([]);
  await mkdir(screenshotDir, { recursive: true });
  await page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage: true });
}

/** Logs the browser context of `page` in as `user`, as the login form would. */
async function logIn(page: Page, baseURL: string, user: E2eUser): Promise<void> {
  const res = await page.request.post("/api/v1/auth/login", {
    data: { username: users[user].name, password: users[user].password },
    headers: { origin: new URL(baseURL).origin },
  });
  expect(res.status()).toBe(200);
}

/** A page of a browser of its own, logged in as `user`. */
export async function pageAs(browser: Browser, baseURL: string, user: E2eUser | null): Promise<Page> {
  const context = await browser.newContext({ baseURL });
  const page = await context.newPage();
  if (user) await logIn(page, baseURL, user);
  return page;
}

/**
 * A new project of the owner's on the BFF at `baseURL` (one of its own, not the suite's main one),
 * its settings open in a browser of its own.
 */
export async function settingsOfNewProject(
  browser: Browser,
  playwright: PlaywrightWorkerArgs["playwright"],
  baseURL: string,
): Promise<SettingsPage> {
  const api = await playwright.request.newContext({
    baseURL,
    extraHTTPHeaders: { authorization: `Bearer ${apiToken(baseURL, "owner")}` },
  });
  const created = await api.post("/api/v1/projects", {
    data: { name: "Shop", repository_url: "https://git.example/shop.git", startup_script: "docker compose build\n" },
  });
  expect(created.status()).toBe(201);
  const projectId = (await created.json()).id as string;
  await api.dispose();
  const settingsPage = new SettingsPage(await pageAs(browser, baseURL, "owner"), projectId);
  await settingsPage.open();
  return settingsPage;
}

type NewProject = { startupScript?: string; name?: string };

interface Fixtures {
  mockSandbox: MockSandboxControl;
  /** Creates a project on the BFF; each test gets projects of its own. */
  createProject: (options?: NewProject) => Promise<string>;
  settings: (projectId: string) => Promise<SettingsPage>;
  /**
   * The story most specs start from: a new project, its settings open, the cache turned on, and
   * its first build running on the mock sandbox.
   */
  buildingProject: (options?: NewProject) => Promise<{ projectId: string; settingsPage: SettingsPage; build: Build }>;
}

export const test = base.extend<Fixtures>({
  // Every spec's browser is logged in as the owner of the projects it creates.
  page: async ({ page, baseURL }, use) => {
    await logIn(page, baseURL ?? "", "owner");
    await use(page);
  },
  // Scripts (the specs themselves) call the API with the owner's token.
  request: async ({ playwright, baseURL }, use) => {
    const request = await playwright.request.newContext({
      baseURL,
      extraHTTPHeaders: { authorization: `Bearer ${apiToken(baseURL ?? "", "owner")}` },
    });
    await use(request);
    await request.dispose();
  },
  // biome-ignore lint/correctness/noEmptyPattern: Playwright reads a fixture's dependencies from this pattern.
  mockSandbox: async ({}, use) => {
    await use(new MockSandboxControl(`http://127.0.0.1:${ports.mockSandbox}`));
  },
  createProject: async ({ request }, use) => {
    await use(async (options = {}) => {
      const res = await request.post("/api/v1/projects", {
        data: {
          name: options.name ?? "Shop",
          repository_url: "https://git.example/shop.git",
          startup_script: options.startupScript ?? defaultScript,
        },
      });
      expect(res.status()).toBe(201);
      return (await res.json()).id as string;
    });
  },
  settings: async ({ page }, use) => {
    await use(async (projectId) => {
      const settings = new SettingsPage(page, projectId);
      await settings.open();
      return settings;
    });
  },
  buildingProject: async ({ createProject, settings, mockSandbox }, use) => {
    await use(async (options) => {
      const projectId = await createProject(options);
      const settingsPage = await settings(projectId);
      await settingsPage.turnOn();
      return { projectId, settingsPage, build: await mockSandbox.latestBuild(projectId) };
    });
  },
});

export { expect };
