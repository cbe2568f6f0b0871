import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Many tests run the real CLI in child processes on a shared 2-core machine.
    testTimeout: 120_000,
  },
});
