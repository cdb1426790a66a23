/**
 * The quick conformance matrix as a test: every sender × receiver × transport × delivery,
 * the receiver vectors and the limit cases, with the committed expected-failure list. Fails on
 * any unexpected failure or unexpected pass, and — under `CI=true` — on a missing toolchain.
 *
 * `TXLANE_CONFORMANCE_JSON=FILE` also writes the JSON report.
 */
import { Effect } from "effect"
import { expect, it } from "vitest"
import { runConformance } from "../src/harness/Cli.js"
import * as Matrix from "../src/harness/Matrix.js"
import * as Scenarios from "../src/harness/Scenarios.js"

/** Bound on the whole quick matrix (it takes ~2–3 minutes on a busy 2-core machine). */
const QUICK_MATRIX_TIMEOUT_MS = 15 * 60_000

it(
  "quick conformance matrix",
  async () => {
    const report = await Effect.runPromise(
      runConformance({ quick: true, progress: true, json: process.env.TXLANE_CONFORMANCE_JSON })
    )
    process.stdout.write(`${Matrix.toMarkdown(report, Scenarios.all)}\n`)
    const toolchainSkips = report.cases.filter((c) => c.outcome._tag === "skipped" && c.outcome.toolchain)
    if (toolchainSkips.length > 0 && !report.ci) {
      const reasons = [...new Set(toolchainSkips.map((c) => c.outcome.detail))].join(", ")
      process.stderr.write(
        `\n${"!".repeat(78)}\n!! ${toolchainSkips.length} conformance cells SKIPPED (${reasons}); with CI=true this fails\n${"!".repeat(78)}\n`
      )
    }
    const problems = report.cases
      .filter(
        (c) =>
          c.verdict === "fail" ||
          c.verdict === "xpass" ||
          (report.ci && c.outcome._tag === "skipped" && c.outcome.toolchain)
      )
      .map((c) =>
        c.verdict === "xpass"
          ? `${c.id}: passed but is listed in expected-failures.txt (remove it)`
          : `${c.id}: ${c.outcome._tag}: ${c.outcome.detail}`
      )
    expect(problems).toEqual([])
    expect(report.passed).toBe(true)
  },
  QUICK_MATRIX_TIMEOUT_MS
)
