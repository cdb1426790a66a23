import { defineConfig } from "vitest/config"

export default defineConfig({
  // Resolve workspace packages to their TypeScript sources, so tests never need a prior build.
  resolve: { conditions: ["txlane-source"] },
  ssr: { resolve: { conditions: ["txlane-source"] } },
  test: { include: ["test/**/*.test.ts"], testTimeout: 30_000, hookTimeout: 30_000 }
})
