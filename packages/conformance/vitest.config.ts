import { defineConfig } from "vitest/config"
import { E2E } from "./vitest.e2e.config.js"

// `test`: the fast suites. The slow end-to-end ones (E2E) run in the nx `e2e` target.
export default defineConfig({
  // Resolve workspace packages to their TypeScript sources, so tests never need a prior build.
  resolve: { conditions: ["txlane-source"] },
  ssr: { resolve: { conditions: ["txlane-source"] } },
  test: { include: ["test/**/*.test.ts"], exclude: E2E, testTimeout: 30_000, hookTimeout: 30_000 }
})
