import { defineConfig, mergeConfig } from "vitest/config";
import viteConfig from "./vite.config.ts";

export default mergeConfig(
  viteConfig,
  defineConfig({
    test: {
      name: "web",
      environment: "jsdom",
      include: ["src/**/*.test.{ts,tsx}"],
      setupFiles: ["src/testing/setup-tests.ts"],
      // Lazy parts of the page (editor, dialogs, viewers) are transformed on first import, which
      // takes seconds on a busy machine: deadlines are for hangs, not for speed.
      testTimeout: 30_000,
    },
  }),
);
