/**
 * Sender-only scenarios: the harness listens as the receiver and checks what reached the wire.
 *
 * @module
 */
import * as path from "node:path"
import { Digest } from "@txlane/protocol/testing"
import { Effect } from "effect"
import { flags, startSender, tempDir } from "../Cells.js"
import * as Expected from "../Expected.js"
import type { Impl } from "../Peers.js"
import { expectExitCode, type Peer } from "../Process.js"
import * as Wire from "../Wire.js"
import { check, checkSent, errorsOf, workloadFlags } from "./checks.js"
import { type CaseInfo, type Scenario, seedOf, single, type Unit } from "./model.js"

const runSenderLimit = (s: Impl, over: boolean, info: CaseInfo) =>
  Effect.gen(function* () {
    const dir = yield* tempDir
    const workload: Expected.WorkloadParams = { seed: seedOf(info.id), batches: 5, txPerBatch: 2, txSize: 650 }
    const expected = Expected.expectation(workload)
    const limit = expected.batchPayloadBytes - (over ? 1 : 0)
    const collector = yield* Wire.listen(path.join(dir, "h.sock"))
    const sender: Peer = yield* startSender(s, collector.endpoint, [
      ...flags({ delivery: "fire-and-forget", workers: 2, "timeout-ms": 10_000, "max-frame-bytes": limit }),
      ...workloadFlags(workload)
    ])
    const exit = yield* sender.exited(30_000)
    const report = yield* sender.requireReport()
    const got = yield* collector.drained(5000)
    if (!over) {
      yield* expectExitCode(sender, exit, 0)
      yield* check(
        Digest.of(got.transactions) === expected.digest && got.transactions.length === expected.transactions,
        () =>
          `the harness received ${got.transactions.length} tx digest ${Digest.of(got.transactions)}, expected ${expected.digest}`
      )
      yield* checkSent(report, expected, workload.batches, "fire-and-forget")
      return `frames of exactly ${limit} bytes sent and received`
    }
    yield* expectExitCode(sender, exit, 1)
    yield* check(got.frames === 0, () => `${got.frames} oversize frames reached the wire`)
    yield* check(
      report.undelivered === workload.batches && (report.errors.FrameTooLarge ?? 0) === workload.batches,
      () =>
        `sender reported undelivered ${report.undelivered}, errors ${errorsOf(report)}; expected ${workload.batches} and FrameTooLarge=${workload.batches}`
    )
    return `every ${limit + 1}-byte batch refused before the wire (limit ${limit})`
  })

/** The sender's own limit: a batch of exactly `--max-frame-bytes` goes out, one byte more is refused. */
export const senderLimit: Scenario = {
  name: "sender-limit",
  description:
    "sender --max-frame-bytes: batches of exactly the limit are sent; one byte over, refused before the wire",
  units: (plan) =>
    (plan.senderScenarios === false ? [] : plan.senders).flatMap((s) =>
      (["at", "over"] as const).map((variant): Unit => {
        const info: CaseInfo = {
          id: `sender-limit.${variant}/${s.name}`,
          scenario: "sender-limit",
          row: s.name,
          col: variant === "at" ? "at limit" : "limit + 1",
          sender: s.name
        }
        return {
          cases: [info],
          impls: [s],
          timeoutMs: 60_000,
          run: single(runSenderLimit(s, variant === "over", info))
        }
      })
    )
}
