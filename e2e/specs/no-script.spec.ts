import { expect, test } from "../fixtures.ts";

test("the switch waits for a startup script, and says so", async ({ createProject, settings, page }) => {
  const projectId = await createProject({ startupScript: "" });
  const settingsPage = await settings(projectId);
  await expect(settingsPage.toggle).toBeDisabled();
  await expect(page.getByText("Add a startup script first — the Docker cache is built by running it.")).toBeVisible();
  await settingsPage.snapshot("10-no-script");

  await settingsPage.editor.fill("#!/bin/bash\ndocker compose build\n");
  await expect(settingsPage.toggle).toBeDisabled();
  await settingsPage.button("Save").click();
  await expect(page.getByText("Startup script saved")).toBeVisible();
  await expect(settingsPage.toggle).toBeEnabled();
  await expect(page.getByText(/Add a startup script first/)).toHaveCount(0);

  // Saved for real: it is still there after a reload.
  await page.reload();
  await expect(settingsPage.editor).toHaveText("#!/bin/bashdocker compose build");
  // The editor highlights shell: the comment is coloured apart from the command.
  const colours = await settingsPage.editor.evaluate((editor) =>
    Array.from(editor.querySelectorAll(".cm-line"), (line) => {
      const first = line.querySelector("span") ?? line;
      return getComputedStyle(first).color;
    }),
  );
  expect(colours[0]).not.toBe(colours[1]);
  await settingsPage.snapshot("15-script-highlighted");
});
