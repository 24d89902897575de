import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// From the repository's root, whatever directory Vitest starts in (`npm test -w <workspace>`
// runs it in the workspace's own).
const fromRoot = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));

// The BFF's tests that run sandbox services as processes: with the sandbox's own tests, they are
// the "host" tests (see scripts/unit-tests.sh), which make this machine's users and run its
// Docker daemons, and so never run beside one another.
const bffProcessTests = [
  "test/restart-harness.test.ts",
  "test/service-processes.test.ts",
  "test/fleet-processes.test.ts",
];
const bffTestOptions = {
  globalSetup: ["test/postgres-server.ts"],
  // Password hashes at N = 2^10: the suite logs in hundreds of times (the service's default is 2^17).
  env: { PASSWORD_SCRYPT_N: "1024" },
  testTimeout: 30_000,
  hookTimeout: 60_000,
};

// One run for every workspace's tests; each workspace is a project with its own environment.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "api-types",
          root: fromRoot("./packages/api-types"),
          include: ["src/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "service-kit",
          root: fromRoot("./packages/service-kit"),
          include: ["src/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "mock-sandbox",
          root: fromRoot("./packages/mock-sandbox"),
          include: ["src/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "sandbox",
          root: fromRoot("./apps/sandbox"),
          include: ["src/**/*.test.ts", "test/**/*.test.ts"],
          globalSetup: ["test/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "bff",
          root: fromRoot("./apps/bff"),
          include: ["src/**/*.test.ts", "test/**/*.test.ts"],
          exclude: bffProcessTests,
          ...bffTestOptions,
        },
      },
      {
        test: {
          name: "sandbox-with-bff",
          root: fromRoot("./apps/bff"),
          include: bffProcessTests,
          ...bffTestOptions,
        },
      },
      fromRoot("./apps/web/vitest.config.ts"),
    ],
  },
});
