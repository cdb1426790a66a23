/**
 * The deployed profile: every sender against an emulator of the deployed Rust transaction
 * server, and an emulator of the deployed Go producer against every receiver. The emulators
 * (`txlane-deployed-server`, `txlane-deployed-producer`, built with the reference peers) behave
 * on the wire as `shared/design/system-we-replace.md` records: the server's start-up and epoch
 * phases answer "not ready" (some then close), it decodes every `Transaction`, and the producer
 * keeps one frame in flight per worker and needs an answer to every frame.
 *
 * A drop-in loses nothing against them: the sender's delivered digest and the emulator's
 * accepted digest both equal the workload's, with every batch accepted exactly once.
 *
 * @module
 */
import * as path from "node:path"
import { Effect } from "effect"
import { type Delivery, finishReceiver, flags, startReceiver, startSender, tempDir } from "./Cells.js"
import * as Expected from "./Expected.js"
import { deployedProducer, deployedServer, type Impl } from "./Peers.js"
import { expectExitCode } from "./Process.js"
import {
  type CaseInfo,
  check,
  checkReceived,
  errorsOf,
  type Scenario,
  seedOf,
  short,
  single,
  timeoutMs,
  type Unit,
  workloadFlags
} from "./Scenarios.js"

/** The emulator's phases for a run: every kind of "not ready", and queued successes. */
const PHASES = { notReady: 5, notReadyClose: 5, queued: 3 } as const

const DELIVERIES: ReadonlyArray<Delivery> = ["fire-and-forget", "acknowledged"]

const workloadOf = (id: string, quick: boolean): Expected.WorkloadParams => ({
  seed: seedOf(id),
  batches: quick ? 200 : 2000,
  txPerBatch: 50,
  txSize: 650
})

const runAgainstServer = (info: CaseInfo, s: Impl, d: Delivery, quick: boolean) =>
  Effect.gen(function* () {
    const dir = yield* tempDir
    const workload = workloadOf(info.id, quick)
    const expected = Expected.expectation(workload)
    const receiver = yield* startReceiver(deployedServer, path.join(dir, "deployed.sock"), [
      ...flags({
        "not-ready": PHASES.notReady,
        "not-ready-close": PHASES.notReadyClose,
        queued: PHASES.queued,
        "expect-transactions": expected.transactions
      })
    ])
    const sender = yield* startSender(s, receiver.endpoint, [
      ...flags({ delivery: d, workers: 4, "timeout-ms": timeoutMs(quick) }),
      ...workloadFlags(workload)
    ])
    const exit = yield* sender.exited(timeoutMs(quick) + 15_000)
    const sent = yield* sender.requireReport()
    yield* expectExitCode(sender, exit, 0)
    // Not-ready answers make resends, so `transactions` counts more than the workload; the
    // digest covers the delivered batches, each once.
    yield* check(
      sent.undelivered === 0 && sent.digest === expected.digest,
      () =>
        `sender reported ${sent.undelivered} undelivered, digest ${sent.digest} (expected ${expected.digest}; errors ${errorsOf(sent)})`
    )
    if (d === "acknowledged")
      yield* check(
        sent.acknowledged === workload.batches,
        () => `sender acknowledged ${sent.acknowledged} of ${workload.batches} batches`
      )
    const received = yield* finishReceiver(receiver, 10_000)
    yield* checkReceived(received, expected, "deployed server")
    if (received !== undefined) {
      yield* check(
        received.frames === workload.batches,
        () => `the server accepted ${received.frames} frames of ${workload.batches} (a batch accepted twice)`
      )
      yield* check(
        received.errors.NotReady === PHASES.notReady && received.errors.NotReadyClose === PHASES.notReadyClose,
        () => `the server's not-ready phases were not all used: ${errorsOf(received)}`
      )
    }
    return `${expected.transactions} tx through ${PHASES.notReady} not-ready, ${PHASES.notReadyClose} not-ready+close, ${PHASES.queued} queued; digest ${expected.digest}; ${sent.elapsedMs} ms`
  })

/** Every sender → the deployed-server emulator, both delivery modes (Unix socket: all it serves). */
export const deployedServerScenario: Scenario = {
  name: "deployed-server",
  description:
    "sender → emulator of the deployed Rust server through its start-up and epoch phases: nothing lost, nothing accepted twice",
  units: (plan) =>
    plan.senderScenarios === false
      ? []
      : plan.senders.flatMap((s) =>
          DELIVERIES.map((d): Unit => {
            const info: CaseInfo = {
              id: `deployed-server/${s.name}->deployed-server/uds/${d}`,
              scenario: "deployed-server",
              row: `${s.name} → deployed server`,
              col: `uds ${short(d)}`,
              sender: s.name,
              receiver: deployedServer.name,
              transport: "uds",
              delivery: d
            }
            return {
              cases: [info],
              impls: [s, deployedServer],
              timeoutMs: timeoutMs(plan.quick) + 45_000,
              run: single(runAgainstServer(info, s, d, plan.quick))
            }
          })
        )
}

const runFromProducer = (info: CaseInfo, r: Impl, quick: boolean) =>
  Effect.gen(function* () {
    const dir = yield* tempDir
    const workload = workloadOf(info.id, quick)
    const expected = Expected.expectation(workload)
    // The deployed producer needs an answer per frame: the receiver answers json.
    const receiver = yield* startReceiver(
      r,
      path.join(dir, "r.sock"),
      flags({ respond: "json", "expect-transactions": expected.transactions })
    )
    const sender = yield* startSender(deployedProducer, receiver.endpoint, [
      ...flags({ delivery: "acknowledged", "timeout-ms": timeoutMs(quick) }),
      ...workloadFlags(workload)
    ])
    const exit = yield* sender.exited(timeoutMs(quick) + 15_000)
    const sent = yield* sender.requireReport()
    yield* expectExitCode(sender, exit, 0)
    yield* check(
      sent.acknowledged === workload.batches && sent.undelivered === 0 && sent.digest === expected.digest,
      () =>
        `producer acknowledged ${sent.acknowledged} of ${workload.batches}, ${sent.undelivered} undelivered, digest ${sent.digest} (expected ${expected.digest}; errors ${errorsOf(sent)})`
    )
    const received = yield* finishReceiver(receiver, 10_000)
    yield* checkReceived(received, expected, "from the deployed producer")
    if (received !== undefined)
      yield* check(
        received.frames === workload.batches,
        () => `receiver accepted ${received.frames} frames of ${workload.batches}`
      )
    return `${expected.transactions} tx, one frame in flight per producer worker; digest ${expected.digest}; ${sent.elapsedMs} ms`
  })

/** The deployed-producer emulator → every receiver (answering json, as the producer needs). */
export const deployedProducerScenario: Scenario = {
  name: "deployed-producer",
  description:
    "emulator of the deployed Go producer (request/response per worker) → receiver: every batch acknowledged once",
  units: (plan) =>
    plan.receiverScenarios === false
      ? []
      : plan.receivers.map((r): Unit => {
          const info: CaseInfo = {
            id: `deployed-producer/deployed-producer->${r.name}/uds/acknowledged`,
            scenario: "deployed-producer",
            row: `deployed producer → ${r.name}`,
            col: "uds ack",
            sender: deployedProducer.name,
            receiver: r.name,
            transport: "uds",
            delivery: "acknowledged"
          }
          return {
            cases: [info],
            impls: [deployedProducer, r],
            timeoutMs: timeoutMs(plan.quick) + 45_000,
            run: single(runFromProducer(info, r, plan.quick))
          }
        })
}

/** The deployed profile (`--profile deployed`). */
export const scenarios: ReadonlyArray<Scenario> = [deployedServerScenario, deployedProducerScenario]
