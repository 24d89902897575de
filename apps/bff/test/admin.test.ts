// The operator's side: the first start prints a one-time login link that works, and the admin
// command makes users, passwords, tokens and members on the BFF's data, refusing to open an
// embedded database a running BFF holds.
import { chmod, lstat, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { entries, freePort, kill9, runCommand, startService } from "@prewarm/test-kit/processes";
import { afterAll, describe, expect, it } from "vitest";

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "bff-admin-"));
  dirs.push(dir);
  return dir;
}

// Each case starts real processes (node, tsx and PGlite's start, several times): far longer
// than a unit test on a busy machine.
const processTimeout = 180_000;

/** A real BFF on `dir`, once it has said it listens: by then it has printed any login link. */
async function startBff(dir: string) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = await startService(
    entries.bff,
    { PORT: String(port), DATA_DIR: dir, SANDBOX_URL: "http://127.0.0.1:9", WEB_DIST: "", LOG_LEVEL: "info" },
    `${url}/api/v1/health`,
    { stdout: "pipe" },
  );
  let stdout = "";
  child.stdout?.on("data", (chunk) => (stdout += chunk));
  await expect.poll(() => stdout, { timeout: 30_000 }).toContain('"msg":"BFF listening"');
  return { url, child, stdout: () => stdout };
}

describe("the first start", () => {
  it("prints a one-time login link for a new owner, and the link logs in once", {
    timeout: processTimeout,
  }, async () => {
    const dir = await dataDir();
    const bff = await startBff(dir);
    try {
      expect(bff.stdout()).toContain('Made the owner account "owner"');
      const link = /(http:\/\/\S+\/login#token=(\S+))/.exec(bff.stdout());
      expect(link?.[1]?.startsWith(bff.url)).toBe(true);
      const logIn = () =>
        fetch(`${bff.url}/api/v1/auth/login`, {
          method: "POST",
          headers: { "content-type": "application/json", origin: bff.url },
          body: JSON.stringify({ login_token: link?.[2] }),
        });
      const first = await logIn();
      expect(first.status).toBe(200);
      expect(await first.json()).toMatchObject({ user: { name: "owner" } });
      expect((await logIn()).status).toBe(401);
    } finally {
      await kill9(bff.child);
    }
    expect(bff.stdout()).toMatch(/login#token=[\s\S]*"msg":"BFF listening"/);
    // A second start has its owner already and prints no link.
    const again = await startBff(dir);
    try {
      expect(again.stdout()).not.toContain("login#token=");
    } finally {
      await kill9(again.child);
    }
  });
});

/** Every path under `dir` (and `dir` as ".") with its permission bits, directories with a trailing slash. */
async function modes(dir: string): Promise<Record<string, string>> {
  const found: Record<string, string> = { ".": ((await lstat(dir)).mode & 0o777).toString(8) };
  for (const entry of await readdir(dir, { recursive: true })) {
    const stat = await lstat(path.join(dir, entry));
    if (!stat.isSymbolicLink()) found[stat.isDirectory() ? `${entry}/` : entry] = (stat.mode & 0o777).toString(8);
  }
  return found;
}

describe("the data directory", () => {
  it("holds nothing other users may read or write, whatever the umask, and warns of a directory open to them", {
    timeout: processTimeout,
  }, async () => {
    const dir = await dataDir();
    await chmod(dir, 0o755);
    // A file an earlier version left open.
    await writeFile(path.join(dir, "left-open"), "x", { mode: 0o666 });
    await chmod(path.join(dir, "left-open"), 0o666);
    const umask = process.umask(0);
    let bff: Awaited<ReturnType<typeof startBff>>;
    try {
      bff = await startBff(dir);
    } finally {
      process.umask(umask);
    }
    try {
      expect(bff.stdout()).toContain("DATA_DIR lets other users in");
      const found = await modes(dir);
      // Every directory is closed, so nothing under it is reachable by anyone else ...
      const dirs = Object.entries(found).filter(([name]) => name.endsWith("/"));
      expect(dirs.length).toBeGreaterThan(3);
      expect(dirs.filter(([, mode]) => mode !== "700")).toEqual([]);
      // ... and the store's files as it started, and what was left open before, are the owner's alone.
      expect(found["pglite/PG_VERSION"]).toBe("600");
      expect(found["pglite/postgresql.conf"]).toBe("600");
      expect(found["left-open"]).toBe("600");
      // The directory itself is the operator's: warned about, not changed.
      expect(found["."]).toBe("755");
    } finally {
      await kill9(bff.child);
    }
  });
});

describe("npm run admin", () => {
  it("makes users, passwords and tokens that the BFF accepts, and refuses a data directory in use", {
    timeout: processTimeout,
  }, async () => {
    const dir = await dataDir();
    const env = { DATA_DIR: dir };
    const made = await runCommand(entries.admin, ["add-user", "alice", "--password-stdin"], env, "a good password\n");
    expect(made).toMatchObject({ code: 0, stdout: "Made user alice.\n" });
    const twice = await runCommand(entries.admin, ["add-user", "alice"], env);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain("A user named alice exists already");
    const short = await runCommand(entries.admin, ["set-password", "alice"], env, "short\n");
    expect(short.code).toBe(2);
    expect(short.stderr).toContain("at least 8 characters");
    const bad = await runCommand(entries.admin, ["add-user", "../x"], env);
    expect(bad.code).toBe(2);
    // Flags a command does not know, or a label left empty, are refused rather than ignored.
    const unknown = await runCommand(entries.admin, ["add-token", "alice", "--lable", "ci"], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--lable'");
    const emptyLabel = await runCommand(entries.admin, ["add-token", "alice", "--label="], env);
    expect(emptyLabel).toMatchObject({ code: 2, stderr: expect.stringContaining("--label needs a value") });
    const misplaced = await runCommand(entries.admin, ["users", "--password-stdin"], env);
    expect(misplaced.code).toBe(2);
    const tokenRun = await runCommand(entries.admin, ["add-token", "alice", "--label=ci"], env);
    expect(tokenRun.code).toBe(0);
    const token = tokenRun.stdout.trim().split("\n").at(-1) ?? "";
    expect(token).toMatch(/^pwc_[\w-]{43}$/);
    // The fleet: alice runs it; a host's token is read from standard input, never an argument.
    expect((await runCommand(entries.admin, ["add-operator", "alice"], env)).code).toBe(0);
    const host = await runCommand(
      entries.admin,
      ["sandbox", "add", "sbx-2", "http://127.0.0.1:10", "--token-stdin", "--draining"],
      env,
      "host-token-of-thirty-two-characters\n",
    );
    expect(host).toMatchObject({ code: 0, stdout: "Added sbx-2 (draining, with its token).\n" });
    const badLabel = await runCommand(entries.admin, ["sandbox", "add", "SBX_2", "http://127.0.0.1:11"], env);
    expect(badLabel).toMatchObject({ code: 2, stderr: expect.stringContaining("lower-case letters") });
    const taken = await runCommand(entries.admin, ["sandbox", "add", "sbx-3", "http://127.0.0.1:10/"], env);
    expect(taken).toMatchObject({ code: 2, stderr: expect.stringContaining("has the URL") });

    const bff = await startBff(dir);
    try {
      const me = await fetch(`${bff.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
      expect(await me.json()).toEqual({ user: { id: expect.any(String), name: "alice" }, operator: true });
      const listed = await fetch(`${bff.url}/api/v1/operator/sandboxes`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const hosts = (await listed.json()) as { hosts: unknown[] };
      expect(hosts.hosts).toMatchObject([
        { label: "default", url: "http://127.0.0.1:9", state: "active", from_environment: true, has_token: false },
        { label: "sbx-2", url: "http://127.0.0.1:10", state: "draining", from_environment: false, has_token: true },
      ]);
      expect(JSON.stringify(hosts)).not.toContain("host-token-of");
      const login = await fetch(`${bff.url}/api/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "alice", password: "a good password" }),
      });
      expect(login.status).toBe(200);
      // Users existed, so no owner account was made.
      expect(bff.stdout()).not.toContain("login#token=");
      const busy = await runCommand(entries.admin, ["users"], env);
      expect(busy.code).toBe(2);
      expect(busy.stderr).toContain("stop it first");
    } finally {
      await kill9(bff.child);
    }
    const revoked = await runCommand(entries.admin, ["revoke-tokens", "alice"], env);
    expect(revoked.stdout).toContain("Revoked 1 API token(s) of alice.");
    const environment = await runCommand(entries.admin, ["sandbox", "remove", "default"], env);
    expect(environment).toMatchObject({ code: 2, stderr: expect.stringContaining("SANDBOX_URL's host") });
    expect((await runCommand(entries.admin, ["sandbox", "remove", "sbx-2"], env)).code).toBe(0);
    const list = await runCommand(entries.admin, ["sandbox", "list"], env);
    expect(list.stdout).toBe("default\tactive\thttp://127.0.0.1:9 (SANDBOX_URL)\n");
  });
});
