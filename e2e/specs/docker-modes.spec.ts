// What the page says about the sandbox's Docker daemons, against a mock sandbox of its own that
// each test restarts with another setup: a root daemon the operator allows (and the builds that
// ran under it), projects not isolated (a sandbox service that is not root), and a sandbox that
// refuses builds (a build asked for fails at once, in the sandbox's words). Photographed and
// checked by axe in each.
import { MockSandboxControl } from "../../packages/mock-sandbox/src/control-client.ts";
import { type DockerAvailability, mockDockerAvailability } from "../../packages/mock-sandbox/src/mock-sandbox.ts";
import { expect, settingsOfNewProject, snapshot, test } from "../fixtures.ts";
import { ports } from "../ports.ts";

// The tests take turns with the one sandbox they restart.
test.describe.configure({ mode: "serial" });

const baseURL = `http://127.0.0.1:${ports.modesBff}`;
const sandbox = new MockSandboxControl(`http://127.0.0.1:${ports.modesSandbox}`);

/** Restarts the sandbox with its runs getting `docker`: a rootless daemon, projects isolated, unless told. */
async function restartSandboxWith(docker: Partial<DockerAvailability>): Promise<void> {
  await sandbox.setDocker({ ...mockDockerAvailability, ...docker });
}

test.afterAll(async () => {
  await sandbox.reset();
});

test("under a root daemon the operator allows, the page warns, and each build says it ran under one", async ({
  browser,
  playwright,
}) => {
  await restartSandboxWith({ rootless: false, projects_isolated: false });
  const settingsPage = await settingsOfNewProject(browser, playwright, baseURL);
  const { page } = settingsPage;
  await expect(page.getByRole("note")).toHaveText(
    "Builds on this sandbox use a root Docker daemon, which the operator allows: a startup script can take over the sandbox host.",
  );
  await settingsPage.turnOn();
  const build = await sandbox.latestBuild(settingsPage.projectId);
  await sandbox.finishBuild(build.build_id, { sizeBytes: 900_000_000 });
  await expect(settingsPage.status).toHaveText(/^Ready · 900 MB · Updated just now$/);
  const history = page.getByRole("table", { name: "Build history" });
  await expect(history.getByRole("row").nth(1)).toContainText(/Docker \S+ \(overlay2, root daemon\)/);
  // Photographed once the build's toast has gone, not while it fades.
  await expect(page.getByText(/^Docker cache build started/)).toBeHidden();
  await snapshot(page, "31-root-docker-daemon");
});

test("on a sandbox service that is not root, the page says projects are not isolated", async ({
  browser,
  playwright,
}) => {
  await restartSandboxWith({ projects_isolated: false });
  const settingsPage = await settingsOfNewProject(browser, playwright, baseURL);
  await expect(settingsPage.page.getByRole("note")).toHaveText(
    "Projects are not isolated from each other on this sandbox: startup scripts run as the sandbox service's own user.",
  );
  await snapshot(settingsPage.page, "32-projects-not-isolated");
});

test("a sandbox that refuses builds says why, and a build asked for fails at once in its words", async ({
  browser,
  playwright,
}) => {
  const why =
    "rootless Docker daemons cannot run on this sandbox (/usr/bin/rootlesskit is missing; " +
    "apt-get install -y rootlesskit uidmap slirp4netns), and root daemons are not allowed " +
    "(SANDBOX_ROOT_DAEMONS=allow allows them)";
  await sandbox.setDocker({
    available: false,
    detail: why,
    rootless: null,
    projects_isolated: true,
    refuses_runs: true,
  });
  const settingsPage = await settingsOfNewProject(browser, playwright, baseURL);
  const { page } = settingsPage;
  await expect(page.getByRole("note")).toHaveText(`This sandbox refuses builds: ${why}.`);
  await settingsPage.toggle.click();
  await expect(settingsPage.toggle).toBeChecked();
  await expect(settingsPage.status).toHaveText(/^Failed/);
  await expect(page.getByText(`This sandbox refuses runs: ${why}`)).toBeVisible();
  await snapshot(page, "33-sandbox-refuses-builds");
});
