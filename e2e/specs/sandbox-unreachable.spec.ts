// The page while the sandbox cannot be reached (this BFF's sandbox is never there): a banner says
// what it means, actions that need the sandbox are disabled and say why, reading still works.
import { expect, pageAs, snapshot, test } from "../fixtures.ts";
import { ports } from "../ports.ts";
import { apiToken } from "../users.ts";

test("a banner says the sandbox cannot be reached and what that means; actions wait for it", async ({
  browser,
  playwright,
}) => {
  const baseURL = `http://127.0.0.1:${ports.loneBff}`;
  const api = await playwright.request.newContext({
    baseURL,
    extraHTTPHeaders: { authorization: `Bearer ${apiToken(baseURL, "owner")}` },
  });
  const created = await api.post("/api/v1/projects", {
    data: { name: "Offline", startup_script: "docker compose build" },
  });
  const projectId = (await created.json()).id as string;
  await api.dispose();

  const page = await pageAs(browser, baseURL, "owner");
  await page.goto(`/projects/${projectId}/settings`);
  const banner = page.getByRole("alert");
  await expect(banner).toContainText("The sandbox cannot be reached");
  await expect(banner).toContainText("This page recovers by itself when the sandbox is back.");
  const toggle = page.getByRole("switch", { name: "Pre-warm Docker cache" });
  await expect(toggle).toBeDisabled();
  await expect(page.getByRole("button", { name: "Test", exact: true })).toBeDisabled();
  // Editing and saving the script needs no sandbox.
  await expect(page.getByRole("textbox", { name: "Startup script" })).toBeEditable();
  await snapshot(page, "30-sandbox-unreachable");
});
