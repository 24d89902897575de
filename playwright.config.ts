// The e2e suite: Debian's Chromium against the built web app served by the BFF. Most specs run
// against the mock sandbox over HTTP, which a test controls (finish a build, emit log lines,
// report a size); one runs against the real golden filesystem service and the demo project.
import path from "node:path";
import { defineConfig } from "@playwright/test";
import { ports } from "./e2e/ports.ts";

const root = import.meta.dirname;
const data = path.join(root, "e2e", ".artifacts", "data");
// Each service in one process that loads tsx (docs/decisions/004), as `npm start` runs them.
const tsx = `'${process.execPath}' --import tsx`;
const fresh = (dir: string, command: string) => `rm -rf '${dir}' && mkdir -p '${dir}' && exec ${command}`;
// A BFF starts on a fresh data directory that already has the e2e users (see e2e/users.ts).
const bffWithUsers = (dir: string) =>
  fresh(dir, `sh -c "${tsx} e2e/seed-users.ts ${dir} && exec ${tsx} apps/bff/src/index.ts"`);

const bffEnv = (name: string, sandboxPort: number, seedDemo: boolean) => ({
  DATA_DIR: path.join(data, name),
  SANDBOX_URL: `http://127.0.0.1:${sandboxPort}`,
  WEB_DIST: path.join(root, "apps", "web", "dist"),
  SEED_DEMO: String(seedDemo),
  // The demo's cold build, really built by Docker, in seconds rather than a minute.
  DEMO_STEP_SECONDS: "1",
  RECONCILE_INTERVAL_MS: "1000",
  LOG_LEVEL: "warn",
});

export default defineConfig({
  testDir: "e2e/specs",
  outputDir: "e2e/.artifacts/test-results",
  fullyParallel: true,
  workers: 2,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  use: {
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
    video: "off",
    viewport: { width: 1400, height: 900 },
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
  projects: [
    {
      name: "mock-sandbox",
      testIgnore: /real-sandbox\.spec\.ts/,
      use: { baseURL: `http://127.0.0.1:${ports.mockBff}` },
    },
    {
      name: "real-sandbox",
      testMatch: /real-sandbox\.spec\.ts/,
      use: { baseURL: `http://127.0.0.1:${ports.realBff}` },
    },
  ],
  webServer: [
    {
      command: `${tsx} packages/mock-sandbox/src/serve.ts`,
      env: { MOCK_SANDBOX_PORT: String(ports.mockSandbox) },
      url: `http://127.0.0.1:${ports.mockSandbox}/v1/health`,
      reuseExistingServer: false,
    },
    {
      command: bffWithUsers(path.join(data, "bff-mock")),
      env: { ...bffEnv("bff-mock", ports.mockSandbox, false), PORT: String(ports.mockBff) },
      url: `http://127.0.0.1:${ports.mockBff}/api/v1/health`,
      reuseExistingServer: false,
    },
    {
      command: `${tsx} packages/mock-sandbox/src/serve.ts`,
      env: { MOCK_SANDBOX_PORT: String(ports.modesSandbox) },
      url: `http://127.0.0.1:${ports.modesSandbox}/v1/health`,
      reuseExistingServer: false,
    },
    {
      command: bffWithUsers(path.join(data, "bff-modes")),
      env: { ...bffEnv("bff-modes", ports.modesSandbox, false), PORT: String(ports.modesBff) },
      url: `http://127.0.0.1:${ports.modesBff}/api/v1/health`,
      reuseExistingServer: false,
    },
    {
      command: `${tsx} packages/mock-sandbox/src/serve.ts`,
      env: { MOCK_SANDBOX_PORT: String(ports.fleetSandbox1) },
      url: `http://127.0.0.1:${ports.fleetSandbox1}/v1/health`,
      reuseExistingServer: false,
    },
    {
      command: `${tsx} packages/mock-sandbox/src/serve.ts`,
      env: { MOCK_SANDBOX_PORT: String(ports.fleetSandbox2) },
      url: `http://127.0.0.1:${ports.fleetSandbox2}/v1/health`,
      reuseExistingServer: false,
    },
    {
      command: bffWithUsers(path.join(data, "bff-fleet")),
      env: {
        ...bffEnv("bff-fleet", ports.fleetSandbox1, false),
        PORT: String(ports.fleetBff),
        SANDBOX_LABEL: "sbx-1",
        E2E_SANDBOXES: `sbx-2=http://127.0.0.1:${ports.fleetSandbox2}`,
      },
      url: `http://127.0.0.1:${ports.fleetBff}/api/v1/health`,
      reuseExistingServer: false,
    },
    {
      command: fresh(path.join(data, "sandbox"), `${tsx} apps/sandbox/src/index.ts`),
      env: {
        SANDBOX_ROOT: path.join(data, "sandbox"),
        SANDBOX_PORT: String(ports.realSandbox),
        LOG_LEVEL: "warn",
      },
      url: `http://127.0.0.1:${ports.realSandbox}/v1/health`,
      reuseExistingServer: false,
      // Stopped as an operator stops it, so it leaves nothing of its daemons in the host's /tmp.
      gracefulShutdown: { signal: "SIGTERM", timeout: 30_000 },
    },
    {
      command: bffWithUsers(path.join(data, "bff-lone")),
      env: { ...bffEnv("bff-lone", ports.nowhere, false), PORT: String(ports.loneBff) },
      url: `http://127.0.0.1:${ports.loneBff}/api/v1/health`,
      reuseExistingServer: false,
    },
    {
      command: bffWithUsers(path.join(data, "bff-real")),
      env: { ...bffEnv("bff-real", ports.realSandbox, true), PORT: String(ports.realBff) },
      url: `http://127.0.0.1:${ports.realBff}/api/v1/health`,
      reuseExistingServer: false,
    },
  ],
});
