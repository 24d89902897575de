// The service's own files (build records, logs, its directories) are its alone whatever umask it
// was started with; what a startup script writes into its Docker directory keeps the modes that
// umask gives, exactly as it would anywhere else.
import { chmod, lstat, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { entries, freePort, kill9, startService } from "@prewarm/test-kit/processes";
import { expect, it } from "vitest";
import { testRunUser } from "./support/run-users.ts";

const mode = async (file: string) => ((await lstat(file)).mode & 0o777).toString(8);

it("keeps its records and logs to itself, and gives startup scripts the umask it was started with", async () => {
  const root = await mkdtemp(path.join(tmpdir(), "sandbox-modes-"));
  await chmod(root, 0o700);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const umask = process.umask(0);
  let service: Awaited<ReturnType<typeof startService>> | null = null;
  try {
    service = await startService(
      entries.sandbox,
      { SANDBOX_ROOT: root, SANDBOX_PORT: String(port), SANDBOX_DOCKER: "off" },
      `${base}/v1/health`,
    );
  } finally {
    process.umask(umask);
  }
  try {
    const script = 'umask\necho data > "$HELIX_DOCKER_DATA_ROOT/file"\nmkdir "$HELIX_DOCKER_DATA_ROOT/dir"';
    const started = await fetch(`${base}/v1/builds`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ build_id: "b1", project_id: "p1", startup_script: script, run_user: testRunUser("p1") }),
    });
    expect(started.status).toBe(202);
    await expect
      .poll(async () => ((await (await fetch(`${base}/v1/builds/b1`)).json()) as { status: string }).status, {
        timeout: 30_000,
      })
      .toBe("succeeded");
    expect(await (await fetch(`${base}/v1/builds/b1/log`)).text()).toMatch(/^0000\r?$/m);

    // The script's files have the modes its umask (000) gives them, in the golden too.
    const golden = path.join(root, "goldens", "p1", "current", "docker");
    expect(await mode(path.join(golden, "file"))).toBe("666");
    expect(await mode(path.join(golden, "dir"))).toBe("777");
    // The service's own: its directories and every record and log. Projects' users only pass
    // through the root and builds/ to their own runs, never list them.
    for (const dir of ["goldens", "build-records", "sessions", "tmp"]) {
      expect(await mode(path.join(root, dir)), dir).toBe("700");
    }
    expect(await mode(root)).toBe("711");
    expect(await mode(path.join(root, "builds"))).toBe("711");
    const records = await readdir(path.join(root, "build-records"));
    expect(records.length).toBeGreaterThan(0);
    for (const record of records) expect(await mode(path.join(root, "build-records", record)), record).toBe("600");
  } finally {
    await kill9(service);
    await rm(root, { recursive: true, force: true });
  }
});
