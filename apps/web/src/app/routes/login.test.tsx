import { screen, waitFor } from "@testing-library/react";
import { delay } from "msw";
import { describe, expect, it, vi } from "vitest";
import { bffHttp, logInAs, member, owner, seedProject } from "../../testing/mocks/bff.ts";
import { renderApp } from "../../testing/render-app.tsx";
import { server } from "../../testing/setup-tests.ts";

describe("logging in", () => {
  it("sends someone logged out to the login page, and back to where they were going", async () => {
    seedProject();
    logInAs(null);
    const { user, location } = renderApp("/projects/shop/settings");
    await screen.findByRole("heading", { name: "Log in" });
    expect(location.history?.at(-1)).toBe("/login?next=%2Fprojects%2Fshop%2Fsettings");

    await user.type(screen.getByLabelText(/User name/), "alice");
    await user.type(screen.getByLabelText(/Password/), "alice password");
    await user.click(screen.getByRole("button", { name: "Log in" }));
    await screen.findByRole("heading", { name: "Project settings" });
    expect(location.history?.at(-1)).toBe("/projects/shop/settings");
    expect(screen.getByRole("navigation", { name: "Account" })).toHaveTextContent("Logged in as alice");
  });

  it("says what went wrong with a wrong password, and keeps the person on the page", async () => {
    logInAs(null);
    const { user } = renderApp("/login");
    await user.type(await screen.findByLabelText(/User name/), "alice");
    await user.type(screen.getByLabelText(/Password/), "not it");
    await user.click(screen.getByRole("button", { name: "Log in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Wrong user name or password.");
    expect(screen.getByRole("heading", { name: "Log in" })).toBeVisible();
  });

  it("logs in by itself from a login link, and takes the token out of the address bar", async () => {
    seedProject();
    logInAs(null);
    window.history.replaceState(null, "", "/login#token=link-token-for-bob");
    renderApp("/login");
    await screen.findByRole("heading", { name: "Project settings" });
    expect(window.location.hash).toBe("");
    expect(screen.getByRole("navigation", { name: "Account" })).toHaveTextContent(`Logged in as ${member.name}`);
  });

  it("logs out", async () => {
    seedProject();
    const { user } = renderApp("/projects/shop/settings");
    await user.click(await screen.findByRole("button", { name: "Log out" }));
    await screen.findByRole("heading", { name: "Log in" });
  });
});

describe("a member of a project", () => {
  it("sees the settings and the status, but may change nothing, and is told why", async () => {
    seedProject({ status: "failed", error: "exit 1", build_id: "bld_1", auto_warm_docker_cache: true });
    logInAs(member);
    renderApp("/projects/shop/settings");
    const reason = await screen.findByText(
      "Only alice, the project's owner, can change it. You can see its status and build logs.",
    );
    expect(reason).toBeVisible();
    const toggle = screen.getByRole("switch", { name: "Pre-warm Docker cache" });
    await waitFor(() => expect(toggle).toBeDisabled());
    expect(toggle).toHaveAccessibleDescription(/Only alice, the project's owner, can change it/);
    const editor = await screen.findByRole("textbox", { name: "Startup script" });
    expect(editor).toHaveAttribute("aria-readonly", "true");
    expect(editor).toHaveAttribute("contenteditable", "false");
    expect(screen.queryByRole("button", { name: "Save" })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Retry" })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Delete cache" })).not.toBeInTheDocument();
    // Reading the log is theirs to do.
    expect(screen.getByRole("button", { name: "View session" })).toBeEnabled();
  });

  it("as the owner, nothing says otherwise", async () => {
    seedProject({ status: "failed", error: "exit 1", build_id: "bld_1", auto_warm_docker_cache: true });
    renderApp("/projects/shop/settings");
    expect(await screen.findByRole("button", { name: "Retry" })).toBeEnabled();
    expect(screen.queryByText(/the project's owner/)).not.toBeInTheDocument();
  });

  it("as the owner, never sees a notice while the page checks who they are to the project", async () => {
    seedProject();
    // Members answer slowly; the project itself quickly.
    server.use(
      bffHttp.get("/api/v1/projects/{project_id}/members", async ({ response }) => {
        await delay(300);
        return response(200).json({ members: [{ user: owner, role: "owner" }] });
      }),
    );
    const notices: string[] = [];
    const watcher = new MutationObserver(() => {
      for (const notice of document.querySelectorAll('[role="alert"], [role="note"]')) {
        notices.push(notice.textContent ?? "");
      }
    });
    watcher.observe(document.body, { childList: true, subtree: true, characterData: true });
    renderApp("/projects/shop/settings");
    expect(await screen.findByRole("switch", { name: "Pre-warm Docker cache" })).toBeEnabled();
    watcher.disconnect();
    expect(notices).toEqual([]);
  });
});

describe("logging out with unsaved changes", () => {
  it("asks first, and stays when the person says no", async () => {
    seedProject();
    const confirm = vi.spyOn(window, "confirm").mockReturnValueOnce(false).mockReturnValueOnce(true);
    const { user } = renderApp("/projects/shop/settings");
    await user.click(await screen.findByRole("textbox", { name: "Startup script" }));
    await user.paste("echo unsaved");
    await user.click(screen.getByRole("button", { name: "Log out" }));
    expect(confirm).toHaveBeenCalledWith("The startup script has unsaved changes. Log out and lose them?");
    expect(screen.getByRole("heading", { name: "Project settings" })).toBeVisible();
    await user.click(screen.getByRole("button", { name: "Log out" }));
    await screen.findByRole("heading", { name: "Log in" });
    confirm.mockRestore();
  });
});
