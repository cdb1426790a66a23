import { defineConfig } from "vitest/config"

/**
 * The slow end-to-end suites of `test/`: whole processes, toolchains and npm installs, minutes
 * each. The nx `e2e` target runs them (with the reliability suite, `reliability/vitest.config.ts`);
 * `npm test` at the root runs both targets, `test` alone stays fast.
 */
export const E2E = [
  "test/matrix-quick.test.ts",
  "test/packed-install.test.ts",
  "test/bench-quick.test.ts",
  "test/conformance-cli.test.ts",
  "test/testee-go.test.ts",
  "test/testee-rust.test.ts",
  "test/testee-ts.test.ts"
]

export default defineConfig({
  resolve: { conditions: ["txlane-source"] },
  ssr: { resolve: { conditions: ["txlane-source"] } },
  test: { include: E2E, testTimeout: 30_000, hookTimeout: 30_000 }
})
