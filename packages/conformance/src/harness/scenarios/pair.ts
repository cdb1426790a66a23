/**
 * Sender × receiver scenarios: every sender against every receiver, digest-checked on both ends.
 *
 * @module
 */
import { Effect } from "effect"
import {
  type Delivery,
  finishReceiver,
  flags,
  listenEndpoint,
  startReceiver,
  startSender,
  type Transport,
  tempDir
} from "../Cells.js"
import * as Expected from "../Expected.js"
import type { Impl } from "../Peers.js"
import { expectExitCode } from "../Process.js"
import { check, checkReceived, checkSent, workloadFlags } from "./checks.js"
import { type CaseInfo, DELIVERIES, pairCase, type Scenario, seedOf, single, TRANSPORTS, type Unit } from "./model.js"

interface PairParams {
  readonly batches: number
  readonly txPerBatch: number
  readonly txSize: number
  readonly workers: number
  readonly handlers?: number
  /** Receiver response mode; default: json when acknowledged, none otherwise. */
  readonly respond?: "json" | "none"
  /** The receiver's `--max-connections`. */
  readonly maxConnections?: number
  readonly senderTimeoutMs: number
}

const runPair = (info: CaseInfo, s: Impl, r: Impl, t: Transport, d: Delivery, p: PairParams) =>
  Effect.gen(function* () {
    const dir = yield* tempDir
    const workload: Expected.WorkloadParams = {
      seed: seedOf(info.id),
      batches: p.batches,
      txPerBatch: p.txPerBatch,
      txSize: p.txSize
    }
    const expected = Expected.expectation(workload)
    const respond = p.respond ?? (d === "acknowledged" ? "json" : "none")
    const receiver = yield* startReceiver(
      r,
      yield* listenEndpoint(r, t, dir),
      flags({
        respond,
        handlers: p.handlers,
        "max-connections": p.maxConnections,
        "expect-transactions": expected.transactions
      })
    )
    const sender = yield* startSender(s, receiver.endpoint, [
      ...flags({ delivery: d, workers: p.workers, "timeout-ms": p.senderTimeoutMs }),
      ...workloadFlags(workload)
    ])
    const senderExit = yield* sender.exited(p.senderTimeoutMs + 15_000)
    const sent = yield* sender.requireReport()
    yield* expectExitCode(sender, senderExit, 0)
    // Refused connections carry a frame each: written, never read, resent.
    yield* checkSent(sent, expected, p.batches, d, p.maxConnections !== undefined)
    if (respond === "json")
      yield* check(
        sent.responses.ok === p.batches,
        () => `sender read ${sent.responses.ok} ok responses of ${p.batches}`
      )
    const received = yield* finishReceiver(receiver, 10_000)
    yield* checkReceived(received, expected, "delivery")
    if (received !== undefined) {
      yield* check(received.frames === p.batches, () => `receiver accepted ${received.frames} frames of ${p.batches}`)
      if (respond === "json")
        yield* check(received.responses.ok === p.batches, () => `receiver wrote ${received.responses.ok} ok responses`)
    }
    const evidence = received === undefined ? `; ${sent.responses.ok} ok responses as evidence` : ""
    const resent = sent.frames > p.batches ? `, ${sent.frames - p.batches} frames resent` : ""
    return `${expected.transactions} tx, digest ${expected.digest}, ${Math.round(sent.elapsedMs)} ms${resent}${evidence}`
  })

const pairScenario = (
  name: string,
  description: string,
  dims: (quick: boolean) => { transports: ReadonlyArray<Transport>; deliveries: ReadonlyArray<Delivery> },
  params: (quick: boolean) => PairParams,
  receivers: (all: ReadonlyArray<Impl>) => ReadonlyArray<Impl> = (all) => all
): Scenario => ({
  name,
  description,
  units: (plan) => {
    const { transports, deliveries } = dims(plan.quick)
    const p = params(plan.quick)
    const units: Array<Unit> = []
    for (const s of plan.senders)
      for (const r of receivers(plan.receivers))
        for (const t of transports)
          for (const d of deliveries) {
            const info = pairCase(name, s, r, t, d)
            units.push({
              cases: [info],
              impls: [s, r],
              timeoutMs: p.senderTimeoutMs + 45_000,
              run: single(runPair(info, s, r, t, d, p))
            })
          }
    return units
  }
})

/** A sender's `--timeout-ms` in a pair case. */
export const timeoutMs = (quick: boolean) => (quick ? 30_000 : 120_000)

/** Steady stream: every sender × receiver × transport × delivery. */
export const stream = pairScenario(
  "stream",
  "steady stream of 50-transaction batches, digest-checked on both ends",
  () => ({ transports: TRANSPORTS, deliveries: DELIVERIES }),
  (quick) => ({
    batches: quick ? 200 : 5000,
    txPerBatch: 50,
    txSize: 650,
    workers: 4,
    senderTimeoutMs: timeoutMs(quick)
  })
)

/** One transaction per batch: the per-frame overhead path. */
export const tx1 = pairScenario(
  "tx1",
  "one transaction per batch",
  (quick) => ({ transports: quick ? ["uds"] : TRANSPORTS, deliveries: quick ? ["acknowledged"] : DELIVERIES }),
  (quick) => ({
    batches: quick ? 200 : 20_000,
    txPerBatch: 1,
    txSize: 650,
    workers: 4,
    senderTimeoutMs: timeoutMs(quick)
  })
)

/** 16 workers, 16 handlers: many connections at once. */
export const workers16 = pairScenario(
  "workers16",
  "16 sender workers (16 connections) against 16 receiver handlers",
  (quick) => ({ transports: quick ? ["uds"] : TRANSPORTS, deliveries: quick ? ["acknowledged"] : DELIVERIES }),
  (quick) => ({
    batches: quick ? 320 : 8000,
    txPerBatch: 10,
    txSize: 650,
    workers: 16,
    handlers: 16,
    senderTimeoutMs: timeoutMs(quick)
  })
)

/** A receiver that answers every frame, a sender that does not wait for answers: no deadlock. */
export const ffJson = pairScenario(
  "ff-json",
  "fire-and-forget sender against a receiver answering every frame (no deadlock; responses read)",
  (quick) => ({ transports: quick ? ["uds"] : TRANSPORTS, deliveries: ["fire-and-forget"] }),
  (quick) => ({
    batches: quick ? 500 : 50_000,
    txPerBatch: 5,
    txSize: 200,
    workers: 4,
    respond: "json",
    senderTimeoutMs: timeoutMs(quick)
  })
)

/**
 * A receiver at its connection limit, which accepts a connection past it and closes it at once:
 * one of the sender's 4 connections is served, the others are refused each time they reconnect.
 * Everything must still arrive, once, with the sender's exit code 0. Only the TypeScript
 * receiver closes at the limit; the Rust and Go peers stop accepting (new clients wait in the
 * listen backlog), so they are not receivers here. The receiver answers (`json`) in both modes:
 * against a silent receiver, a frame written as it closes a connection can be lost, and nothing
 * can tell (RELIABILITY.md, silent peers).
 */
export const connectionLimit = pairScenario(
  "connection-limit",
  "4 sender connections against a receiver at --max-connections 1 (the others refused at once): nothing lost",
  (quick) => ({ transports: quick ? ["uds"] : TRANSPORTS, deliveries: DELIVERIES }),
  (quick) => ({
    batches: quick ? 500 : 10_000,
    txPerBatch: 10,
    txSize: 200,
    workers: 4,
    respond: "json",
    maxConnections: 1,
    senderTimeoutMs: timeoutMs(quick)
  }),
  (all) => all.filter((r) => r.name === "ts")
)
