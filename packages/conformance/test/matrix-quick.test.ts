/**
 * The quick conformance matrix as a test: every sender × receiver × transport × delivery,
 * the receiver vectors and the limit cases, and every sender and receiver against the
 * deployed-behaviour emulators (the default profile, `all`), with the committed expected-failure list. Fails on
 * any unexpected failure or unexpected pass, and on a missing Rust or Go peer: this
 * repository's own run insists on both (`require: ["rust", "go"]`, the `--require rust,go` of
 * the CLI), whatever `CI` says.
 *
 * `TXLANE_CONFORMANCE_JSON=FILE` also writes the JSON report.
 */
import { Effect } from "effect"
import { expect, it } from "vitest"
import { PROFILES, runConformance } from "../src/harness/Cli.js"
import * as Matrix from "../src/harness/Matrix.js"

/** Bound on the whole quick matrix (it takes ~2–3 minutes on a busy 2-core machine). */
const QUICK_MATRIX_TIMEOUT_MS = 15 * 60_000

it(
  "quick conformance matrix",
  async () => {
    const report = await Effect.runPromise(
      runConformance({
        quick: true,
        progress: true,
        json: process.env.TXLANE_CONFORMANCE_JSON,
        require: ["rust", "go"]
      })
    )
    process.stdout.write(`${Matrix.toMarkdown(report, PROFILES.all)}\n`)
    // The deployed rows are part of the run (issue #11): the emulators are built with the peers.
    expect(report.cases.filter((c) => c.scenario.startsWith("deployed-")).length).toBe(9)
    const problems = report.cases
      .filter((c) => c.verdict === "fail" || c.verdict === "xpass")
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
