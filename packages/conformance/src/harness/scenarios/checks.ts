/**
 * Checks shared by the scenarios: each fails the running case with a `mismatch` that says what
 * was seen and what was expected. Transactions are compared by digest, never just by count.
 *
 * @module
 */
import { Effect } from "effect"
import type { Report } from "../../Report.js"
import { type Delivery, flags } from "../Cells.js"
import type * as Expected from "../Expected.js"
import { type CaseFailure, mismatch } from "../Outcome.js"

/** Fails the case with a mismatch unless `condition` holds. */
export const check = (condition: boolean, detail: () => string): Effect.Effect<void, CaseFailure> =>
  condition ? Effect.void : Effect.fail(mismatch(detail()))

/** The PEERS.md workload flags of a sender. */
export const workloadFlags = (w: Expected.WorkloadParams) =>
  flags({ batches: w.batches, "tx-per-batch": w.txPerBatch, "tx-size": w.txSize, seed: w.seed })

/** A report's non-zero error counts, `Kind=n,…`. */
export const errorsOf = (report: Report) =>
  Object.entries(report.errors)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k}=${n}`)
    .join(",") || "none"

/** The receiver's report must show exactly the expected transactions. */
export const checkReceived = (report: Report | undefined, expected: Expected.Expectation, what: string) =>
  report === undefined
    ? Effect.void
    : check(
        report.transactions === expected.transactions && report.digest === expected.digest,
        () =>
          `${what}: receiver reported ${report.transactions} tx digest ${report.digest}, expected ${expected.transactions} tx digest ${expected.digest}`
      )

/**
 * The sender's report must show every batch delivered, with the expected digest. Its
 * `transactions` count every write (PEERS.md): with `resent`, a scenario where connections are
 * expected to break, a resent batch may count more than once, and only the digest (the delivered
 * batches, each once) must match.
 */
export const checkSent = (
  report: Report,
  expected: Expected.Expectation,
  batches: number,
  delivery: Delivery,
  resent = false
) =>
  Effect.gen(function* () {
    yield* check(
      report.undelivered === 0,
      () => `sender reported ${report.undelivered} undelivered (errors ${errorsOf(report)})`
    )
    const written = resent
      ? report.transactions >= expected.transactions
      : report.transactions === expected.transactions
    yield* check(
      written && report.digest === expected.digest,
      () =>
        `sender reported ${report.transactions} tx digest ${report.digest}, expected ${expected.transactions} tx digest ${expected.digest}`
    )
    if (delivery === "acknowledged")
      yield* check(
        report.acknowledged === batches,
        () => `sender acknowledged ${report.acknowledged} of ${batches} batches`
      )
  })
