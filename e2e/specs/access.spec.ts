// Who sees what, in a real browser: logging in by the form, a member who sees a project
// read-only, a stranger who cannot tell it exists, and a page the CSP lets run in full.
import { expect, pageAs, SettingsPage, snapshot, test } from "../fixtures.ts";
import { users } from "../users.ts";

test("logging in by the form leads to the page asked for", async ({ browser, baseURL, createProject }) => {
  const projectId = await createProject();
  const page = await pageAs(browser, baseURL ?? "", null);
  await page.goto(`/projects/${projectId}/settings`);
  await expect(page.getByRole("heading", { name: "Log in" })).toBeVisible();
  await snapshot(page, "20-login");

  await page.getByLabel("User name").fill(users.owner.name);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toHaveText("Wrong user name or password.");

  await page.getByLabel("Password").fill(users.owner.password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Project settings" })).toBeVisible();
  await expect(page).toHaveURL(new RegExp(`/projects/${projectId}/settings$`));
  await expect(page.getByRole("navigation", { name: "Account" })).toContainText(`Logged in as ${users.owner.name}`);

  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByRole("heading", { name: "Log in" })).toBeVisible();
  await page.goto(`/projects/${projectId}/settings`);
  await expect(page.getByRole("heading", { name: "Log in" })).toBeVisible();
});

test("a member sees the project read-only; a stranger cannot tell it exists", async ({
  browser,
  baseURL,
  createProject,
  request,
}) => {
  const projectId = await createProject({ name: "Shared shop" });
  expect((await request.put(`/api/v1/projects/${projectId}/members/${users.member.name}`)).status()).toBe(200);

  const member = await pageAs(browser, baseURL ?? "", "member");
  await member.goto(`/projects/${projectId}/settings`);
  await expect(member.getByRole("heading", { name: "Project settings" })).toBeVisible();
  await expect(member.getByText(`Only ${users.owner.name}, the project's owner, can change it.`)).toBeVisible();
  await expect(member.getByRole("switch", { name: "Pre-warm Docker cache" })).toBeDisabled();
  await expect(member.getByRole("textbox", { name: "Startup script" })).not.toBeEditable();
  await expect(member.getByRole("button", { name: "Save" })).toHaveCount(0);
  await snapshot(member, "21-member-read-only");
  // The API agrees with the page.
  const refused = await member.request.patch(`/api/v1/projects/${projectId}`, {
    data: { startup_script: "echo mine now" },
    headers: { origin: new URL(baseURL ?? "").origin },
  });
  expect(refused.status()).toBe(403);

  const stranger = await pageAs(browser, baseURL ?? "", "stranger");
  await stranger.goto(`/projects/${projectId}/settings`);
  await expect(stranger.getByText("This project does not exist, or you do not have access to it.")).toBeVisible();
  const missing = await stranger.goto(`/projects/prj_does_not_exist/settings`);
  expect(missing?.status()).toBe(200);
  await expect(stranger.getByText("This project does not exist, or you do not have access to it.")).toBeVisible();
  await snapshot(stranger, "22-stranger");
});

test("the page runs under its Content-Security-Policy without a violation", async ({ page, createProject }) => {
  const violations: string[] = [];
  page.on("console", (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
  });
  const projectId = await createProject();
  const response = await page.goto(`/projects/${projectId}/settings`);
  expect(response?.headers()["content-security-policy"]).toContain("frame-ancestors 'none'");
  const settingsPage = new SettingsPage(page, projectId);
  await expect(settingsPage.editor).toBeEditable();
  await settingsPage.turnOn();
  await settingsPage.button("View").click();
  await expect(settingsPage.terminal).toBeVisible();
  expect(violations).toEqual([]);
});
