import { defineConfig } from "vitest/config"

// The reliability suite: real processes and signals, run one file at a time (they measure).
// CI runs the shortened loops; TXLANE_RELIABILITY_FULL=1 runs the full sizes (RELIABILITY.md).
export default defineConfig({
  // The root is this directory (not the cwd), so `test/` of the package is not picked up here.
  root: import.meta.dirname,
  resolve: { conditions: ["txlane-source"] },
  ssr: { resolve: { conditions: ["txlane-source"] } },
  test: {
    include: ["**/*.test.ts"],
    testTimeout: 180_000,
    hookTimeout: 30_000,
    fileParallelism: false
  }
})
