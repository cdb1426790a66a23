/**
 * The receiver SIGKILLed mid-run and restarted: an acknowledged sender loses nothing.
 *
 * @module
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { Effect } from "effect"
import {
  flags,
  listenEndpoint,
  READY_TIMEOUT_MS,
  startReceiver,
  startSender,
  stopReceiver,
  type Transport,
  tempDir
} from "../Cells.js"
import * as Expected from "../Expected.js"
import { decodeError, mismatch, Outcome as O, transportError } from "../Outcome.js"
import type { Impl } from "../Peers.js"
import { expectExitCode } from "../Process.js"
import { check, workloadFlags } from "./checks.js"
import { type CaseInfo, pairCase, type Scenario, seedOf, single, TRANSPORTS, type Unit } from "./model.js"

/** How often the record file is polled for the first frames before the kill. */
const KILL_POLL_MS = 1

const runKillRestart = (info: CaseInfo, s: Impl, r: Impl, t: Transport, quick: boolean) =>
  Effect.gen(function* () {
    const base = quick ? 1000 : 5000
    const txPerBatch = quick ? 10 : 50
    // A fast sender can finish before the kill lands; then retry with a longer workload.
    for (let attempt = 0; attempt < 3; attempt++) {
      const batches = base * 4 ** attempt
      const outcome = yield* Effect.scoped(killRestartOnce(info, s, r, t, { batches, txPerBatch, quick }))
      if (outcome !== "too-fast") return outcome
    }
    return yield* mismatch("the sender finished every attempt before the receiver could be killed")
  })

const killRestartOnce = (
  info: CaseInfo,
  s: Impl,
  r: Impl,
  t: Transport,
  o: { batches: number; txPerBatch: number; quick: boolean }
) =>
  Effect.gen(function* () {
    const dir = yield* tempDir
    // One record file per incarnation: a write cut short by SIGKILL must not desynchronise the
    // frames the restarted receiver appends.
    const firstRecord = path.join(dir, "record-1.bin")
    const secondRecord = path.join(dir, "record-2.bin")
    const workload: Expected.WorkloadParams = {
      seed: seedOf(info.id),
      batches: o.batches,
      txPerBatch: o.txPerBatch,
      txSize: 650
    }
    const senderTimeoutMs = o.quick ? 60_000 : 180_000
    const first = yield* startReceiver(
      r,
      yield* listenEndpoint(r, t, dir),
      flags({ respond: "json", record: firstRecord })
    )
    const sender = yield* startSender(s, first.endpoint, [
      ...flags({ delivery: "acknowledged", workers: 4, "timeout-ms": senderTimeoutMs }),
      ...workloadFlags(workload)
    ])
    // Kill once the receiver has recorded something, i.e. mid-run.
    const deadline = Date.now() + READY_TIMEOUT_MS + 20_000
    while (fileSize(firstRecord) === 0) {
      if (sender.hasExited()) return "too-fast" as const
      if (Date.now() > deadline) return yield* transportError(`${first.peer.label} recorded nothing`)
      yield* Effect.sleep(KILL_POLL_MS)
    }
    yield* first.peer.kill("SIGKILL")
    yield* first.peer.exited(5000)
    if (sender.hasExited()) return "too-fast" as const
    const beforeKill = Expected.readRecord(firstRecord, { killed: true })
    if (beforeKill.error) return yield* decodeError(beforeKill.error)
    yield* Effect.sleep(100)
    const second = yield* startReceiver(r, first.endpoint, flags({ respond: "json", record: secondRecord }))
    const senderExit = yield* sender.exited(senderTimeoutMs + 15_000)
    const sent = yield* sender.requireReport()
    yield* expectExitCode(sender, senderExit, 0)
    yield* check(sent.undelivered === 0, () => `sender reported ${sent.undelivered} undelivered`)
    yield* check(sent.acknowledged === o.batches, () => `sender acknowledged ${sent.acknowledged} of ${o.batches}`)
    yield* stopReceiver(second)
    const afterRestart = Expected.readRecord(secondRecord)
    if (afterRestart.error) return yield* decodeError(afterRestart.error)
    const cover = Expected.coverage(Expected.keys(workload), [...beforeKill.transactions, ...afterRestart.transactions])
    yield* check(
      cover.missing === 0 && cover.unexpected === 0,
      () =>
        `${cover.missing} of ${o.batches * o.txPerBatch} tx lost, ${cover.unexpected} foreign, ${cover.duplicates} duplicates across 2 incarnations`
    )
    return `0 lost of ${o.batches * o.txPerBatch} tx, ${cover.duplicates} duplicates; killed after ${beforeKill.frames} frames`
  })

const fileSize = (file: string): number => {
  try {
    return fs.statSync(file).size
  } catch {
    return 0
  }
}

/** SIGKILL the receiver mid-run and restart it: acknowledged mode loses nothing. */
export const killRestart: Scenario = {
  name: "kill-restart",
  description: "receiver SIGKILLed mid-run and restarted; acknowledged sender; union of --record files has every tx",
  units: (plan) => {
    const units: Array<Unit> = []
    for (const s of plan.senders)
      for (const r of plan.receivers)
        for (const t of plan.quick ? (["uds"] as const) : TRANSPORTS) {
          const info = pairCase("kill-restart", s, r, t, "acknowledged")
          units.push({
            cases: [info],
            impls: [s, r],
            timeoutMs: plan.quick ? 150_000 : 400_000,
            run:
              r.kind === "server"
                ? Effect.succeed([O.skipped({ detail: "needs a PEERS.md receiver (--record)", toolchain: false })])
                : single(runKillRestart(info, s, r, t, plan.quick))
          })
        }
    return units
  }
}
