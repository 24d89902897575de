// Every action works by keyboard alone: turning the cache on, opening the build's log, stopping.
import { expect, test } from "../fixtures.ts";

test("turn on, view and stop a build with the keyboard only", async ({ createProject, settings, page }) => {
  const projectId = await createProject();
  const settingsPage = await settings(projectId);
  const focusOn = async (name: string | RegExp, role: "switch" | "button") => {
    const target = page.getByRole(role, { name, exact: typeof name === "string" });
    for (let i = 0; i < 40; i++) {
      if (await target.evaluate((el) => el === document.activeElement).catch(() => false)) return;
      await page.keyboard.press("Tab");
    }
    throw new Error(`Tab never reached ${name}`);
  };

  await focusOn("Pre-warm Docker cache", "switch");
  await page.keyboard.press("Space");
  await expect(settingsPage.status).toHaveText("Building… Started just now");
  await focusOn("View", "button");
  await page.keyboard.press("Enter");
  await expect(settingsPage.viewer).toBeVisible();
  await focusOn("Stop", "button");
  await page.keyboard.press("Enter");
  await expect(settingsPage.status).toHaveText("No cache yet — will build on next merge");
  await focusOn("Close the build viewer", "button");
  await page.keyboard.press("Enter");
  await expect(settingsPage.viewer).toHaveCount(0);
});
