// Against the real golden filesystem service: the demo project's startup script really builds its
// images with the build's own Docker daemon, and the golden is really promoted; [Test] starts a
// daemon on a copy of it and every step comes out CACHED.
import { expect, test } from "../fixtures.ts";

test("enabling the demo project builds a real golden and shows its size", async ({ settings, request, page }) => {
  test.setTimeout(120_000);
  const settingsPage = await settings("demo");
  await settingsPage.turnOn();
  await settingsPage.button("View").click();
  // The terminal shows the newest lines: one of the images is being built.
  await expect(settingsPage.terminal).toContainText(/Building (the base image|api|web|worker)/, { timeout: 30_000 });
  await settingsPage.snapshot("13-real-building");

  await expect(settingsPage.status).toHaveText(/^Ready · \d+(\.\d+)? MB · Updated just now$/, { timeout: 90_000 });
  const project = await (await request.get("/api/v1/projects/demo")).json();
  const cache = project.metadata.docker_cache_state;
  expect(cache.size_bytes).toBeGreaterThan(100_000_000);
  await expect(settingsPage.terminal).toContainText("Promoted: the golden is now");
  // The whole log: the build had a Docker daemon of its own, and the history says which.
  const log = await (await request.get(`/api/v1/projects/demo/docker-cache/builds/${cache.build_id}/log`)).text();
  expect(log).toContain("Building images for the demo project");
  expect(log).toMatch(/Docker \S+ \(overlay2, [^)]+\) is up/);
  // Rootless where the host can run rootless daemons; a root daemon only where the operator allows one.
  const history = page.getByRole("table", { name: "Build history" });
  await expect(history.getByRole("row").nth(1)).toContainText(/Docker \S+ \(overlay2, (rootless|root daemon)\)/);
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
  await expect(column.getByTestId("test-session-engine")).toHaveText(
    /^Docker \S+ \(overlay2, (rootless|root daemon)\)$/,
  );
  await expect(column.getByTestId("test-session-terminal")).toContainText("CACHED");
  await expect(column.getByTestId("test-session-terminal")).toContainText("All images built.");
  await settingsPage.snapshot("29-real-test-session");
});
