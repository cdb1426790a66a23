import { defineConfig } from "vitest/config"

export default defineConfig({
  // Resolve workspace packages to their TypeScript sources, so tests never need a prior build.
  resolve: { conditions: ["txlane-source"] },
  ssr: { resolve: { conditions: ["txlane-source"] } },
  // Every test here starts real processes (tsx compiles the sources in each): generous timeouts for a busy machine.
  test: { include: ["test/**/*.test.ts"], testTimeout: 120_000, hookTimeout: 60_000 }
})
