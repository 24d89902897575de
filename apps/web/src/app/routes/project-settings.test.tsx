import { screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { Build } from "../../features/build-history/api/list-builds.ts";
import {
  bffHttp,
  dockerEngine,
  member,
  problem,
  seedBuilds,
  seedProject,
  seedVersion,
  setLog,
  setProjectSandboxes,
  setSandboxDocker,
  setSandboxReachable,
  storedProject,
  testSessionScripts,
  updateTestSession,
  withDockerEngine,
} from "../../testing/mocks/bff.ts";
import { renderApp } from "../../testing/render-app.tsx";
import { server } from "../../testing/setup-tests.ts";

const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();
const status = () => screen.getByRole("status");

describe("the Pre-warm Docker cache setting", () => {
  it("is off by default, with its description", async () => {
    seedProject();
    renderApp("/projects/shop/settings");
    const toggle = await screen.findByRole("switch", { name: "Pre-warm Docker cache" });
    expect(toggle).not.toBeChecked();
    expect(toggle).toHaveAccessibleDescription(/keeps a warm cache so new sessions start in ~15 seconds/);
    expect(screen.queryByRole("status")).not.toBeInTheDocument();
  });

  it("is disabled, saying why, until a startup script is saved", async () => {
    seedProject({ startup_script: "" });
    const { user } = renderApp("/projects/shop/settings");
    const toggle = await screen.findByRole("switch", { name: "Pre-warm Docker cache" });
    expect(toggle).toBeDisabled();
    expect(screen.getByText("Add a startup script first — the Docker cache is built by running it.")).toBeVisible();

    await user.click(await screen.findByRole("textbox", { name: "Startup script" }));
    await user.paste("docker compose build");
    expect(toggle).toBeDisabled();
    await user.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(toggle).toBeEnabled());
    expect(screen.queryByText(/Add a startup script first/)).not.toBeInTheDocument();
    expect(storedProject("shop")?.startup_script).toBe("docker compose build");
  });

  it("starts a build when turned on, with a toast, then offers View and Stop", async () => {
    seedProject();
    const { user } = renderApp("/projects/shop/settings");
    await user.click(await screen.findByRole("switch", { name: "Pre-warm Docker cache" }));

    expect(
      await screen.findByText("Docker cache build started. This runs your startup script and takes a few minutes."),
    ).toBeVisible();
    expect(screen.getByRole("switch", { name: "Pre-warm Docker cache" })).toBeChecked();
    expect(status()).toHaveTextContent("Building… Started just now");
    expect(screen.getByRole("button", { name: "View" })).toBeVisible();
    expect(screen.getByRole("button", { name: "Stop" })).toBeVisible();
  });

  it("keeps the cache when turned off", async () => {
    seedProject({
      auto_warm_docker_cache: true,
      status: "ready",
      size_bytes: 8_700_000_000,
      last_ready_at: hoursAgo(2),
    });
    const { user } = renderApp("/projects/shop/settings");
    await user.click(await screen.findByRole("switch", { name: "Pre-warm Docker cache" }));
    await waitFor(() => expect(screen.getByRole("switch", { name: "Pre-warm Docker cache" })).not.toBeChecked());
    expect(status()).toHaveTextContent("Ready · 8.7 GB · Updated 2h ago");
    expect(screen.queryByText(/Docker cache build started/)).not.toBeInTheDocument();
  });
});

describe("a sandbox without a Docker engine", () => {
  const noEngine = "This sandbox has no Docker engine: builds run the script without a Docker daemon.";

  it("is said in plain words beside the setting, with the sandbox's reason, and building stays possible", async () => {
    setSandboxDocker({
      ...withDockerEngine,
      available: false,
      rootless: null,
      detail: "this sandbox has no Docker engine (/usr/sbin/dockerd is missing; apt-get install -y docker.io)",
    });
    seedProject();
    const { user } = renderApp("/projects/shop/settings");
    const note = await screen.findByRole("note");
    expect(note).toHaveTextContent(
      `${noEngine} This sandbox has no Docker engine (/usr/sbin/dockerd is missing; apt-get install -y docker.io).`,
    );
    const toggle = screen.getByRole("switch", { name: "Pre-warm Docker cache" });
    expect(toggle).toHaveAccessibleDescription(new RegExp(noEngine));
    expect(toggle).toBeEnabled();
    await user.click(toggle);
    expect(
      await screen.findByText("Docker cache build started. This runs your startup script and takes a few minutes."),
    ).toBeVisible();
    expect(status()).toHaveTextContent("Building… Started just now");
  });

  it("is said without a reason when the sandbox gives none", async () => {
    setSandboxDocker({ ...withDockerEngine, available: false, rootless: null });
    seedProject();
    renderApp("/projects/shop/settings");
    expect(await screen.findByRole("note")).toHaveTextContent(new RegExp(`^${noEngine}$`));
  });

  it.each([
    ["where runs get a rootless Docker daemon of their project's own user", withDockerEngine],
    ["before the BFF has asked the sandbox", null],
  ] as const)("is not mentioned, nor anything else of Docker, %s", async (_, docker) => {
    setSandboxDocker(docker);
    seedProject();
    renderApp("/projects/shop/settings");
    await screen.findByRole("switch", { name: "Pre-warm Docker cache" });
    expect(screen.queryByRole("note")).not.toBeInTheDocument();
    expect(screen.queryByText(/no Docker engine/)).not.toBeInTheDocument();
  });
});

describe("what the sandbox's Docker daemons mean for builds", () => {
  const notIsolated =
    "Projects are not isolated from each other on this sandbox: startup scripts run as the sandbox service's own user.";
  const rootDaemon =
    "Builds on this sandbox use a root Docker daemon, which the operator allows: a startup script can take over the sandbox host.";

  it("warns, beside the setting, that projects are not isolated where scripts run as the service's user", async () => {
    setSandboxDocker({ ...withDockerEngine, projects_isolated: false });
    seedProject();
    renderApp("/projects/shop/settings");
    const note = await screen.findByRole("note");
    expect(note.textContent).toBe(notIsolated);
    expect(note).toHaveClass("MuiAlert-colorWarning");
    const toggle = screen.getByRole("switch", { name: "Pre-warm Docker cache" });
    expect(toggle).toHaveAccessibleDescription(new RegExp(notIsolated));
    expect(toggle).toBeEnabled();
  });

  it("warns that builds use a root Docker daemon where the operator allows one, and only that", async () => {
    // A root daemon leaves projects unisolated; the one note says so, and more.
    setSandboxDocker({ ...withDockerEngine, rootless: false, projects_isolated: false });
    seedProject();
    renderApp("/projects/shop/settings");
    const note = await screen.findByRole("note");
    expect(note.textContent).toBe(rootDaemon);
    expect(note).toHaveClass("MuiAlert-colorWarning");
    expect(screen.getByRole("switch", { name: "Pre-warm Docker cache" })).toHaveAccessibleDescription(
      new RegExp(rootDaemon),
    );
  });

  it("says both where the sandbox has no Docker engine and runs every project as the service's user", async () => {
    setSandboxDocker({ ...withDockerEngine, available: false, rootless: null, projects_isolated: false });
    seedProject();
    renderApp("/projects/shop/settings");
    await screen.findByRole("switch", { name: "Pre-warm Docker cache" });
    const notes = await screen.findAllByRole("note");
    expect(notes.map((note) => note.textContent)).toEqual([
      "This sandbox has no Docker engine: builds run the script without a Docker daemon.",
      notIsolated,
    ]);
    expect(screen.queryByText(rootDaemon)).not.toBeInTheDocument();
  });

  it("says, as an error, that the sandbox refuses builds and why, and nothing else", async () => {
    // As the sandbox says it: no daemon for runs, as rootless ones cannot run and root ones are not allowed.
    setSandboxDocker({
      available: false,
      detail:
        "rootless Docker daemons cannot run on this sandbox (newuidmap is missing), and root daemons are not allowed",
      rootless: null,
      projects_isolated: true,
      refuses_runs: true,
    });
    seedProject();
    renderApp("/projects/shop/settings");
    const note = await screen.findByRole("note");
    const refused =
      "This sandbox refuses builds: rootless Docker daemons cannot run on this sandbox (newuidmap is missing), and root daemons are not allowed.";
    expect(note.textContent).toBe(refused);
    expect(note).toHaveClass("MuiAlert-colorError");
    expect(screen.getAllByRole("note")).toHaveLength(1);
    expect(screen.getByRole("switch", { name: "Pre-warm Docker cache" })).toHaveAccessibleDescription(
      expect.stringContaining(refused),
    );
  });
});

describe("the status row", () => {
  it("says there is no cache yet while the setting is on and nothing was built", async () => {
    seedProject({ auto_warm_docker_cache: true });
    renderApp("/projects/shop/settings");
    expect(await screen.findByRole("status")).toHaveTextContent("No cache yet — will build on next merge");
  });

  it("shows a ready cache's size and age, with the exact time on hover", async () => {
    const readyAt = hoursAgo(2);
    seedProject({ auto_warm_docker_cache: true, status: "ready", size_bytes: 8_700_000_000, last_ready_at: readyAt });
    renderApp("/projects/shop/settings");
    expect(await screen.findByRole("status")).toHaveTextContent("Ready · 8.7 GB · Updated 2h ago");
    expect(within(status()).getByText("2h ago")).toHaveAttribute("datetime", readyAt);
    expect(within(status()).getByText("2h ago")).toHaveAttribute(
      "title",
      new Date(readyAt).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" }),
    );
    expect(screen.getByRole("button", { name: "Delete cache" })).toBeVisible();
  });

  it("says on how many sandboxes the newest cache is ready, and lists each one's, unreachable ones too", async () => {
    const readyAt = hoursAgo(2);
    seedProject({ auto_warm_docker_cache: true, status: "ready", size_bytes: 8_700_000_000, last_ready_at: readyAt });
    const golden = {
      state: "ready" as const,
      build_id: "bld_2",
      commit_sha: "abc1234def",
      merges_behind: 0,
      newest: true,
      progress: 1,
      size_bytes: 8_700_000_000,
      error: null,
      updated_at: readyAt,
      held: null,
    };
    const older = { build_id: "bld_1", commit_sha: "0ff1ce5", merges_behind: 2, size_bytes: 8_000_000_000 };
    setProjectSandboxes("shop", [
      { label: "sbx-1", state: "active", reachable: true, golden },
      { label: "sbx-2", state: "active", reachable: true, golden },
      {
        label: "sbx-3",
        state: "active",
        reachable: false,
        golden,
      },
      {
        label: "sbx-4",
        state: "active",
        reachable: true,
        golden: { ...golden, state: "replicating", progress: 0.625, held: older },
      },
      {
        label: "sbx-5",
        state: "active",
        reachable: true,
        golden: { ...golden, state: "failed", progress: 0.1, error: "No room for the golden", held: null },
      },
      {
        label: "sbx-6",
        state: "active",
        reachable: true,
        golden: { ...golden, build_id: "bld_1", commit_sha: "0ff1ce5", merges_behind: 2, newest: false },
      },
      // Holds the newest, but takes no new sessions: not counted.
      { label: "sbx-7", state: "draining", reachable: true, golden },
    ]);
    renderApp("/projects/shop/settings");
    await waitFor(() =>
      expect(status()).toHaveTextContent(
        "Ready on 2 of 6 sandboxes · 8.7 GB · Updated 2h ago · replicating to sbx-4, 62% · sbx-3 cannot be reached",
      ),
    );
    const table = screen.getByRole("table", { name: "The cache on each sandbox" });
    const row = (label: string) =>
      within(table)
        .getByRole("rowheader", { name: new RegExp(`^${label}`) })
        .closest("tr") as HTMLElement;
    expect(row("sbx-1")).toHaveTextContent("sbx-1abc12348.7 GBReady—");
    expect(row("sbx-3")).toHaveTextContent("sbx-3abc12348.7 GBCannot be reached—");
    expect(row("sbx-7")).toHaveTextContent("sbx-7 (draining)abc12348.7 GBReady—");
    expect(row("sbx-4")).toHaveTextContent(
      "Replicating, 62%; sessions start from 0ff1ce5 (2 merges behind main) meanwhile",
    );
    expect(row("sbx-5")).toHaveTextContent("Replication failed; tried again laterNo room for the golden");
    expect(row("sbx-6")).toHaveTextContent("sbx-60ff1ce58.7 GBReady, an older cache (2 merges behind main)—");
  });

  it("shows a single sandbox's cache as the status row alone", async () => {
    seedProject({
      auto_warm_docker_cache: true,
      status: "ready",
      size_bytes: 8_700_000_000,
      last_ready_at: hoursAgo(1),
    });
    renderApp("/projects/shop/settings");
    await waitFor(() => expect(status()).toHaveTextContent(/^Ready · 8.7 GB · Updated 1h ago$/));
    expect(screen.queryByRole("table", { name: "The cache on each sandbox" })).not.toBeInTheDocument();
  });

  it("shows a failure with its error, the cache sessions still use, and Retry", async () => {
    seedProject({
      auto_warm_docker_cache: true,
      status: "failed",
      error: "Startup script exited with code 2",
      build_id: "bld_9",
      size_bytes: 8_700_000_000,
      last_ready_at: hoursAgo(48),
    });
    const { user } = renderApp("/projects/shop/settings");
    expect(await screen.findByRole("status")).toHaveTextContent("Failed: Startup script exited with code 2");
    expect(screen.getByText(/Current cache: 8.7 GB, 2 days old/)).toBeVisible();
    expect(screen.getByRole("button", { name: "View session" })).toBeVisible();

    await user.click(screen.getByRole("button", { name: "Retry" }));
    await waitFor(() => expect(status()).toHaveTextContent("Building… Started just now"));
    expect(screen.getByText(/Current cache: 8.7 GB, 2 days old/)).toBeVisible();
  });

  it("returns to what the cache is when a build is stopped", async () => {
    seedProject({
      auto_warm_docker_cache: true,
      status: "building",
      build_id: "bld_3",
      last_build_at: new Date().toISOString(),
      size_bytes: 312_000_000,
      last_ready_at: hoursAgo(3),
    });
    const { user } = renderApp("/projects/shop/settings");
    await user.click(await screen.findByRole("button", { name: "Stop" }));
    await waitFor(() => expect(status()).toHaveTextContent("Ready · 312 MB · Updated 3h ago"));
  });

  it("deletes the cache after asking", async () => {
    seedProject({
      auto_warm_docker_cache: true,
      status: "ready",
      size_bytes: 8_700_000_000,
      last_ready_at: hoursAgo(1),
    });
    const { user } = renderApp("/projects/shop/settings");
    await user.click(await screen.findByRole("button", { name: "Delete cache" }));
    const dialog = await screen.findByRole("dialog", { name: "Delete the Docker cache?" });
    expect(dialog).toHaveTextContent("8.7 GB will be freed");
    await user.click(within(dialog).getByRole("button", { name: "Delete cache" }));
    await waitFor(() => expect(status()).toHaveTextContent("No cache yet — will build on next merge"));
    expect(storedProject("shop")?.metadata.docker_cache_state.status).toBe("none");
  });

  it("keeps the cache and says why when deleting fails", async () => {
    seedProject({ auto_warm_docker_cache: true, status: "ready", size_bytes: 1_000_000, last_ready_at: hoursAgo(1) });
    server.use(
      bffHttp.delete("/api/v1/projects/{project_id}/docker-cache", ({ response }) =>
        problem(response, 502, "sandbox_unavailable", "The sandbox could not be reached; nothing was changed."),
      ),
    );
    const { user } = renderApp("/projects/shop/settings");
    await user.click(await screen.findByRole("button", { name: "Delete cache" }));
    await user.click(within(await screen.findByRole("dialog")).getByRole("button", { name: "Delete cache" }));
    expect(await screen.findByText("The sandbox could not be reached; nothing was changed.")).toBeVisible();
    await waitFor(() => expect(status()).toHaveTextContent("Ready · 1 MB"));
  });
});

describe("the build viewer", () => {
  it("opens a Docker Cache Build column beside the settings, and closes", async () => {
    seedProject({
      auto_warm_docker_cache: true,
      status: "building",
      build_id: "bld_3",
      last_build_at: new Date().toISOString(),
    });
    const { user } = renderApp("/projects/shop/settings");
    await user.click(await screen.findByRole("button", { name: "View" }));
    const viewer = screen.getByRole("region", { name: "Docker Cache Build" });
    expect(viewer).toHaveTextContent("Running · bld_3");
    await user.click(within(viewer).getByRole("button", { name: "Close the build viewer" }));
    expect(screen.queryByRole("region", { name: "Docker Cache Build" })).not.toBeInTheDocument();
  });
});

describe("the start page", () => {
  it("goes to the first project's settings", async () => {
    seedProject({ id: "first" });
    const { location } = renderApp("/");
    await screen.findByRole("heading", { name: "Project settings" });
    expect(location.history?.at(-1)).toBe("/projects/first/settings");
  });

  it("says so when a project does not exist or is not the user's to see", async () => {
    renderApp("/projects/nope/settings");
    expect(await screen.findByText("This project does not exist, or you do not have access to it.")).toBeVisible();
  });
});

describe("everything the state knows, said plainly", () => {
  const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000 - 5_000).toISOString();

  it("shows how long a build has been running, and the queued follow-up", async () => {
    seedProject({
      auto_warm_docker_cache: true,
      status: "building",
      build_id: "bld_1",
      last_build_at: minutesAgo(3),
      queued: { trigger: "merge", commit_sha: "abcdef1234567", queued_at: minutesAgo(1) },
    });
    renderApp("/projects/shop/settings");
    await waitFor(() => expect(status()).toHaveTextContent(/^Building… Started 3 min ago$/));
    expect(screen.getByTestId("build-elapsed")).toHaveTextContent(/^3m 0\ds elapsed$/);
    expect(screen.getByText("Next build queued (a merge, abcdef1) — it starts when this one ends.")).toBeVisible();
  });

  it("says how many merges the cache is behind main", async () => {
    seedProject({
      auto_warm_docker_cache: true,
      status: "ready",
      size_bytes: 8_700_000_000,
      last_ready_at: hoursAgo(2),
      merges_behind: 2,
    });
    renderApp("/projects/shop/settings");
    await waitFor(() => expect(status()).toHaveTextContent("Ready · 8.7 GB · Updated 2h ago · 2 merges behind main"));
  });

  it("says merge builds are paused after failures, and Resume continues them", async () => {
    seedProject({
      auto_warm_docker_cache: true,
      status: "failed",
      error: "Startup script exited with code 1",
      build_id: "bld_3",
      consecutive_failures: 3,
      paused: true,
    });
    const { user } = renderApp("/projects/shop/settings");
    expect(
      await screen.findByText("Paused after 3 failed builds in a row: merges to main do not start builds."),
    ).toBeVisible();
    await user.click(screen.getByRole("button", { name: "Resume" }));
    await waitFor(() => expect(screen.queryByText(/Paused after/)).not.toBeInTheDocument());
    expect(storedProject("shop")?.metadata.docker_cache_state.paused).toBe(false);
  });

  it("says when the cache was evicted for disk space", async () => {
    seedProject({ auto_warm_docker_cache: true, status: "none", evicted_at: hoursAgo(5) });
    renderApp("/projects/shop/settings");
    await waitFor(() =>
      expect(status()).toHaveTextContent("Evicted 5h ago to free disk space — will build again on next merge"),
    );
  });

  it("shows a banner while the sandbox cannot be reached, and disables what needs it, saying why", async () => {
    setSandboxReachable(false);
    seedProject({ auto_warm_docker_cache: true, status: "failed", error: "boom", build_id: "bld_1" });
    renderApp("/projects/shop/settings");
    const banner = await screen.findByRole("alert");
    expect(banner).toHaveTextContent("The sandbox cannot be reached");
    expect(banner).toHaveTextContent("This page recovers by itself when the sandbox is back.");
    const retry = screen.getByRole("button", { name: "Retry" });
    expect(retry).toBeDisabled();
    expect(retry).toHaveAccessibleDescription(/The sandbox cannot be reached/);
    // Reading the log needs no build to run.
    expect(screen.getByRole("button", { name: "View session" })).toBeEnabled();
  });
});

describe("the build history", () => {
  const build = (id: string, overrides: Partial<Build>): Build => ({
    id,
    project_id: "shop",
    trigger: "merge",
    commit_sha: "abcdef1234567",
    status: "succeeded",
    started_at: hoursAgo(3),
    finished_at: hoursAgo(2.9),
    duration_seconds: 372,
    error: null,
    size_bytes: 8_700_000_000,
    docker_engine: dockerEngine,
    ...overrides,
  });

  it("lists recent builds with trigger, commit, when, duration, size and outcome in words, and opens a log", async () => {
    seedProject({
      auto_warm_docker_cache: true,
      status: "ready",
      size_bytes: 8_700_000_000,
      last_ready_at: hoursAgo(2),
    });
    seedBuilds("shop", [
      build("bld_2", {
        trigger: "retry",
        commit_sha: null,
        duration_seconds: 45,
        size_bytes: null,
        status: "failed",
        error: "exit 2",
      }),
      build("bld_1", {}),
    ]);
    setLog("bld_1", "layer 1 of 9\r\n");
    const { user } = renderApp("/projects/shop/settings");
    const table = await screen.findByRole("table", { name: "Build history" });
    const rows = within(table).getAllByRole("row");
    expect(rows[1]).toHaveTextContent(/Failed.*Retry.*—.*3h ago.*45s.*—/);
    expect(rows[2]).toHaveTextContent(/Succeeded.*Merge.*abcdef1.*3h ago.*6m 12s.*8\.7 GB/);
    await user.click(within(rows[2] as HTMLElement).getByRole("button", { name: "View the log of bld_1" }));
    expect(await screen.findByRole("region", { name: "Docker Cache Build" })).toBeVisible();
  });

  it("says which Docker engine ran each build and how, or that it had none, and the viewer says it too", async () => {
    seedProject({ auto_warm_docker_cache: true, status: "building", build_id: "bld_3", last_build_at: hoursAgo(0) });
    seedBuilds("shop", [
      build("bld_3", {
        status: "running",
        started_at: hoursAgo(0),
        finished_at: null,
        duration_seconds: null,
        size_bytes: null,
        docker_engine: null,
      }),
      build("bld_2", { status: "failed", error: "exit 1", size_bytes: null, docker_engine: null }),
      build("bld_1", {}),
      // Made before daemons were rootless, or where the operator allows root daemons.
      build("bld_0", { started_at: hoursAgo(5), docker_engine: { ...dockerEngine, rootless: false } }),
    ]);
    setLog("bld_1", "built\r\n");
    const { user } = renderApp("/projects/shop/settings");
    const table = await screen.findByRole("table", { name: "Build history" });
    const [, running, failed, succeeded, asRoot] = within(table).getAllByRole("row") as HTMLElement[];
    // The running build's daemon may still be starting: nothing is said about it yet.
    expect(running).toHaveTextContent("Running");
    expect(running).not.toHaveTextContent(/Docker/);
    expect(within(failed as HTMLElement).getByText("No Docker daemon")).toBeVisible();
    expect(within(succeeded as HTMLElement).getByText("Docker 20.10.24+dfsg1 (overlay2, rootless)")).toBeVisible();
    expect(within(asRoot as HTMLElement).getByText("Docker 20.10.24+dfsg1 (overlay2, root daemon)")).toBeVisible();

    await user.click(within(succeeded as HTMLElement).getByRole("button", { name: "View the log of bld_1" }));
    const viewer = await screen.findByRole("region", { name: "Docker Cache Build" });
    expect(await within(viewer).findByText("Docker 20.10.24+dfsg1 (overlay2, rootless)")).toBeVisible();
  });

  it("says there are none yet", async () => {
    seedProject({ auto_warm_docker_cache: true });
    renderApp("/projects/shop/settings");
    expect(await screen.findByText(/No builds yet/)).toBeVisible();
  });
});

describe("the startup script editor", () => {
  const leaving = () => {
    const event = new Event("beforeunload", { cancelable: true });
    window.dispatchEvent(event);
    return event.defaultPrevented;
  };

  it("asks before the page is left with unsaved changes, and not once they are saved", async () => {
    seedProject({ startup_script: "echo one\n" });
    const { user } = renderApp("/projects/shop/settings");
    const editor = await screen.findByRole("textbox", { name: "Startup script" });
    expect(leaving()).toBe(false);
    await user.click(editor);
    await user.paste("echo two");
    expect(await screen.findByText("Unsaved changes")).toBeVisible();
    expect(leaving()).toBe(true);
    await user.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(screen.queryByText("Unsaved changes")).not.toBeInTheDocument());
    expect(storedProject("shop")?.startup_script).toContain("echo two");
    expect(leaving()).toBe(false);
  });
});

describe("the startup script history", () => {
  it("shows earlier versions with who and when, and restores one into the editor to be saved", async () => {
    seedProject({ startup_script: "echo current\n" });
    seedVersion("shop", "echo current\n", hoursAgo(1));
    seedVersion("shop", "echo older\n", hoursAgo(26), member);
    const { user } = renderApp("/projects/shop/settings");
    await screen.findByRole("textbox", { name: "Startup script" });
    await user.click(screen.getByRole("button", { name: "History" }));
    const dialog = await screen.findByRole("dialog", { name: "Startup script history" });
    const items = within(await within(dialog).findByRole("list", { name: "Saved versions" })).getAllByRole("button");
    expect(items[0]).toHaveTextContent("1h ago · latest");
    expect(items[0]).toHaveTextContent("by alice");
    expect(items[1]).toHaveTextContent("1 day ago");
    expect(items[1]).toHaveTextContent("by bob");
    expect(within(dialog).getByRole("button", { name: "This is the current script" })).toBeDisabled();

    await user.click(items[1] as HTMLElement);
    expect(within(dialog).getByLabelText("The chosen version")).toHaveTextContent("echo older");
    await user.click(within(dialog).getByRole("button", { name: "Restore into the editor" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(screen.getByText("Unsaved changes")).toBeVisible();
    await user.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(storedProject("shop")?.startup_script).toBe("echo older\n"));
  });
});

describe("[Test]", () => {
  it("runs the editor's script in a Test Session column beside the build, showing what the cache saved", async () => {
    seedProject({
      auto_warm_docker_cache: true,
      status: "ready",
      size_bytes: 8_700_000_000,
      last_ready_at: hoursAgo(2),
      build_id: "bld_1",
    });
    setLog("bld_1", "built\r\n");
    const { user } = renderApp("/projects/shop/settings");
    await user.click(await screen.findByRole("textbox", { name: "Startup script" }));
    await user.paste("echo draft");
    await user.click(screen.getByRole("button", { name: "Test" }));
    const column = await screen.findByRole("region", { name: "Test Session" });
    expect(testSessionScripts()[0]).toContain("echo draft");
    expect(within(column).getByTestId("test-session-preparation")).toHaveTextContent(
      "Preparing Docker data from cache… 0 B of 8.7 GB",
    );
    expect(within(column).getByRole("progressbar", { name: "Copying the Docker data" })).toBeVisible();

    updateTestSession({ copied_bytes: 4_350_000_000 });
    await waitFor(() => expect(within(column).getByRole("progressbar")).toHaveAttribute("aria-valuenow", "50"));
    updateTestSession({
      status: "running",
      copied_bytes: 8_700_000_000,
      prepared: {
        source: "golden",
        size_bytes: 8_700_000_000,
        seconds: 1.2,
        golden_build_id: "bld_1",
        golden_unusable: null,
      },
    });
    await waitFor(() =>
      expect(within(column).getByTestId("test-session-preparation")).toHaveTextContent(
        "Docker data prepared from cache in 1.2 s (8.7 GB)",
      ),
    );
    expect(within(column).getByRole("status")).toHaveTextContent("Running the startup script");

    await user.click(within(column).getByRole("button", { name: "Stop" }));
    await waitFor(() => expect(within(column).getByRole("status")).toHaveTextContent("Stopped"));
  });

  it("says when a session started from an older cache, the newest not on its sandbox yet", async () => {
    const { column } = await startTestSession();
    const prepared = { source: "golden" as const, size_bytes: 8_700_000_000, seconds: 1.2, golden_build_id: "bld_1" };
    updateTestSession({
      status: "running",
      prepared: { ...prepared, golden_unusable: null },
      cache: { build_id: "bld_1", commit_sha: "abc1234ffee", newest: false, merges_behind: 2 },
    });
    await waitFor(() =>
      expect(within(column).getByTestId("test-session-preparation")).toHaveTextContent(
        "Docker data prepared from cache in 1.2 s (8.7 GB) · cache from abc1234, 2 merges behind main",
      ),
    );
    updateTestSession({ cache: { build_id: "bld_1", commit_sha: "abc1234ffee", newest: true, merges_behind: 0 } });
    await waitFor(() =>
      expect(within(column).getByTestId("test-session-preparation")).toHaveTextContent(
        /^Docker data prepared from cache in 1.2 s \(8.7 GB\)$/,
      ),
    );
  });

  it("shows the Docker engine the session's script has once its daemon is up", async () => {
    const { column } = await startTestSession();
    updateTestSession({
      status: "running",
      prepared: { source: "empty", size_bytes: 0, seconds: 0, golden_build_id: null, golden_unusable: null },
    });
    expect(await within(column).findByText("Starting a Docker daemon…")).toBeVisible();
    updateTestSession({ docker_engine: dockerEngine });
    expect(await within(column).findByText("Docker 20.10.24+dfsg1 (overlay2, rootless)")).toBeVisible();
    updateTestSession({ status: "succeeded", exit_code: 0 });
    await waitFor(() => expect(within(column).getByRole("status")).toHaveTextContent(/^Finished/));
    expect(within(column).getByText("Docker 20.10.24+dfsg1 (overlay2, rootless)")).toBeVisible();
  });

  it("says when the session's daemon runs as root", async () => {
    const { column } = await startTestSession();
    updateTestSession({
      status: "running",
      prepared: { source: "empty", size_bytes: 0, seconds: 0, golden_build_id: null, golden_unusable: null },
      docker_engine: { ...dockerEngine, rootless: false },
    });
    expect(await within(column).findByTestId("test-session-engine")).toHaveTextContent(
      /^Docker 20\.10\.24\+dfsg1 \(overlay2, root daemon\)$/,
    );
  });

  it("says the session has no Docker daemon where the sandbox has no Docker engine", async () => {
    setSandboxDocker({
      ...withDockerEngine,
      available: false,
      rootless: null,
      detail: "Docker daemons are turned off on this sandbox",
    });
    const { column } = await startTestSession();
    updateTestSession({
      status: "running",
      prepared: { source: "empty", size_bytes: 0, seconds: 0, golden_build_id: null, golden_unusable: null },
    });
    await waitFor(() => expect(within(column).getByRole("status")).toHaveTextContent("Running the startup script"));
    expect(within(column).getByText("No Docker daemon on this sandbox")).toBeVisible();
    updateTestSession({ status: "succeeded", exit_code: 0 });
    await waitFor(() => expect(within(column).getByRole("status")).toHaveTextContent(/^Finished/));
    expect(within(column).getByText("No Docker daemon on this sandbox")).toBeVisible();
  });

  it("says when there was no cache", async () => {
    const { column } = await startTestSession();
    updateTestSession({
      status: "succeeded",
      exit_code: 0,
      prepared: { source: "empty", size_bytes: 0, seconds: 0, golden_build_id: null, golden_unusable: null },
    });
    await waitFor(() =>
      expect(within(column).getByTestId("test-session-preparation")).toHaveTextContent("No cache: started empty"),
    );
    expect(within(column).getByRole("status")).toHaveTextContent("Finished: the startup script exited with code 0");
  });

  it("says why a cache the sandbox's Docker cannot open was not used", async () => {
    const { column } = await startTestSession();
    const unusable = "The golden was made with Docker's overlay2 storage driver, and this sandbox's daemons use vfs";
    updateTestSession({
      status: "running",
      prepared: { source: "empty", size_bytes: 0, seconds: 0, golden_build_id: null, golden_unusable: unusable },
    });
    await waitFor(() =>
      expect(within(column).getByTestId("test-session-preparation")).toHaveTextContent(
        `Cache not used: ${unusable}. Started empty`,
      ),
    );
  });
});

/** The seeded project's page with [Test] pressed: its Test Session column, and the user who pressed it. */
async function startTestSession() {
  seedProject();
  const { user } = renderApp("/projects/shop/settings");
  await screen.findByRole("textbox", { name: "Startup script" });
  await user.click(screen.getByRole("button", { name: "Test" }));
  const column = await screen.findByRole("region", { name: "Test Session" });
  return { user, column };
}
