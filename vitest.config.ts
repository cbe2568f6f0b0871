import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Many tests run the real CLI in child processes on a shared 2-core machine.
    testTimeout: 120_000,
    // beforeAll hooks run whole sweeps too (10 s, the default, is short on a loaded machine).
    hookTimeout: 120_000,
  },
});
