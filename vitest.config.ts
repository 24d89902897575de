import { defineConfig } from "vitest/config";

// One run for every workspace's tests; each workspace is a project with its own environment.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "api-types",
          root: "packages/api-types",
          include: ["src/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "service-kit",
          root: "packages/service-kit",
          include: ["src/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "mock-sandbox",
          root: "packages/mock-sandbox",
          include: ["src/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "sandbox",
          root: "apps/sandbox",
          include: ["src/**/*.test.ts", "test/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "bff",
          root: "apps/bff",
          include: ["src/**/*.test.ts", "test/**/*.test.ts"],
          globalSetup: ["test/postgres-server.ts"],
          // Password hashes at N = 2^10: the suite logs in hundreds of times (the service's default is 2^17).
          env: { PASSWORD_SCRYPT_N: "1024" },
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      "apps/web/vitest.config.ts",
    ],
  },
});
