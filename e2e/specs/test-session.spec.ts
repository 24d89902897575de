// [Test] beside the build viewer: the editor's script runs in an ordinary session, the column
// shows the Docker data being copied from the cache, then how long it took, then the output.
import { expect, test } from "../fixtures.ts";

test("Test runs the script in a session prepared from the cache, beside the build's log", async ({
  buildingProject,
  mockSandbox,
  page,
}) => {
  const { projectId, settingsPage, build } = await buildingProject();
  await mockSandbox.emitLog(build.build_id, "\x1b[32mSuccessfully built\x1b[0m\r\n");
  await mockSandbox.finishBuild(build.build_id, { sizeBytes: 8_700_000_000 });
  await expect(settingsPage.status).toHaveText(/^Ready · 8\.7 GB/);

  await settingsPage.button("Test").click();
  const column = page.getByRole("region", { name: "Test Session" });
  const preparation = column.getByTestId("test-session-preparation");
  await expect(preparation).toHaveText("Preparing Docker data from cache… 0 B of 8.7 GB");
  const run = await mockSandbox.latestTestSession(projectId);
  if (!run) throw new Error("no test session reached the sandbox");
  await mockSandbox.prepareTestSession(run.session_id, { copiedBytes: 3_100_000_000 });
  await expect(preparation).toHaveText("Preparing Docker data from cache… 3.1 GB of 8.7 GB");
  await expect(column.getByRole("progressbar", { name: "Copying the Docker data" })).toHaveAttribute(
    "aria-valuenow",
    "36",
  );
  await settingsPage.snapshot("27-test-session-copying");

  await mockSandbox.prepareTestSession(run.session_id, { seconds: 1.2 });
  await expect(preparation).toHaveText("Docker data prepared from cache in 1.2 s (8.7 GB)");
  await mockSandbox.emitTestSessionLog(run.session_id, "Starting dev servers…\r\n");
  await expect(column.getByTestId("test-session-terminal")).toContainText("Starting dev servers…");

  // The build's log opens beside it; both columns stay.
  await page.getByRole("button", { name: `View the log of ${build.build_id}` }).click();
  await expect(settingsPage.viewer).toBeVisible();
  await expect(column).toBeVisible();
  await mockSandbox.finishTestSession(run.session_id, 0);
  await expect(column.getByRole("status")).toHaveText("Finished: the startup script exited with code 0");
  await settingsPage.snapshot("28-test-session-beside-build");
});
