// Against the real golden filesystem service: the demo project's startup script really runs,
// writes a few hundred MB, and the golden is really promoted.
import { expect, test } from "../fixtures.ts";

test("enabling the demo project builds a real golden and shows its size", async ({ settings, request }) => {
  test.setTimeout(120_000);
  const settingsPage = await settings("demo");
  await settingsPage.toggle.click();
  await expect(settingsPage.status).toHaveText(/^Building…/);
  await settingsPage.button("View").click();
  await expect(settingsPage.terminal).toContainText("Building images for the demo project", { timeout: 20_000 });
  await settingsPage.snapshot("13-real-building");

  await expect(settingsPage.status).toHaveText(/^Ready · \d+(\.\d+)? MB · Updated just now$/, { timeout: 90_000 });
  const project = await (await request.get("/api/v1/projects/demo")).json();
  expect(project.metadata.docker_cache_state.size_bytes).toBeGreaterThan(100_000_000);
  await expect(settingsPage.terminal).toContainText("Promoted: the golden is now");
  await settingsPage.snapshot("14-real-ready");
});
