// Against the real golden filesystem service: the demo project's startup script really runs,
// writes a few hundred MB, and the golden is really promoted.
import { expect, test } from "../fixtures.ts";

test("enabling the demo project builds a real golden and shows its size", async ({ settings, request }) => {
  test.setTimeout(120_000);
  const settingsPage = await settings("demo");
  await settingsPage.turnOn();
  await settingsPage.button("View").click();
  await expect(settingsPage.terminal).toContainText("Building images for the demo project", { timeout: 20_000 });
  await settingsPage.snapshot("13-real-building");

  await expect(settingsPage.status).toHaveText(/^Ready · \d+(\.\d+)? MB · Updated just now$/, { timeout: 90_000 });
  const project = await (await request.get("/api/v1/projects/demo")).json();
  expect(project.metadata.docker_cache_state.size_bytes).toBeGreaterThan(100_000_000);
  await expect(settingsPage.terminal).toContainText("Promoted: the golden is now");
  await settingsPage.snapshot("14-real-ready");

  // [Test] starts a session from that golden: a real copy, timed, then the demo script runs.
  await settingsPage.button("Test").click();
  const column = settingsPage.page.getByRole("region", { name: "Test Session" });
  await expect(column.getByTestId("test-session-preparation")).toHaveText(
    /^Docker data prepared from cache in \d+(\.\d+)? s \(\d+(\.\d+)? MB\)$/,
    { timeout: 30_000 },
  );
  // With the cache, every image of the demo is already there: the script finds them CACHED.
  await expect(column.getByRole("status")).toHaveText("Finished: the startup script exited with code 0", {
    timeout: 30_000,
  });
  await expect(column.getByTestId("test-session-terminal")).toContainText("CACHED");
  await expect(column.getByTestId("test-session-terminal")).toContainText("All images built.");
  await settingsPage.snapshot("29-real-test-session");
});
