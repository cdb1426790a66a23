/**
 * The scenario suite. Each scenario expands into *units* (one run of some processes) that
 * produce one or more *cases* (one line of the matrix, one outcome each).
 *
 * Every check that involves transactions compares digests the harness computed itself from
 * the workload parameters (`Expected.ts`), never just counts.
 *
 * @module
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Envelope, Frame, FrameEncoder, Response } from "@txlane/protocol"
import { Digest } from "@txlane/protocol/testing"
import { Effect, Result, type Scope } from "effect"
import type { Report } from "../Report.js"
import {
  type Delivery,
  finishReceiver,
  flags,
  listenEndpoint,
  READY_TIMEOUT_MS,
  type Receiver,
  startReceiver,
  startSender,
  stopReceiver,
  type Transport,
  tempDir
} from "./Cells.js"
import * as Expected from "./Expected.js"
import { type CaseFailure, decodeError, mismatch, Outcome as O, type Outcome, transportError } from "./Outcome.js"
import { type Impl, packageRoot, resolveModule } from "./Peers.js"
import { expectExitCode, type Peer } from "./Process.js"
import * as Wire from "./Wire.js"

/** One line of the matrix. */
export interface CaseInfo {
  /** Stable id, used by `--only` and `expected-failures.txt`: `stream/ts->rust/uds/acknowledged`. */
  readonly id: string
  readonly scenario: string
  /** Row and column of the scenario's table in the markdown report. */
  readonly row: string
  readonly col: string
  readonly sender?: string
  readonly receiver?: string
  readonly transport?: Transport
  readonly delivery?: Delivery
}

/** A run of processes producing the outcomes of `cases`, in order. */
export interface Unit {
  readonly cases: ReadonlyArray<CaseInfo>
  /** Implementations that must be available for it to run. */
  readonly impls: ReadonlyArray<Impl>
  /** Bound on the whole unit. */
  readonly timeoutMs: number
  /** The ok detail of each case (a failure of the unit fails every case not yet decided). */
  readonly run: Effect.Effect<ReadonlyArray<Outcome>, CaseFailure, Scope.Scope>
}

/** What to expand. */
export interface Plan {
  readonly quick: boolean
  readonly senders: ReadonlyArray<Impl>
  readonly receivers: ReadonlyArray<Impl>
  /**
   * Run the single-role scenarios of senders / of receivers (default true). Testing an outside
   * receiver alone turns the sender-only ones off, and vice versa.
   */
  readonly senderScenarios?: boolean | undefined
  readonly receiverScenarios?: boolean | undefined
}

/** A scenario: its name, one line on what it proves, and its units for a plan. */
export interface Scenario {
  readonly name: string
  readonly description: string
  readonly units: (plan: Plan) => ReadonlyArray<Unit>
}

// ---------------------------------------------------------------------------------------------
// helpers

const TRANSPORTS: ReadonlyArray<Transport> = ["uds", "tcp"]
const DELIVERIES: ReadonlyArray<Delivery> = ["fire-and-forget", "acknowledged"]
/** The short name of a delivery mode in matrix columns. */
export const short = (d: Delivery) => (d === "acknowledged" ? "ack" : "ff")

/** A deterministic seed per case id (FNV-1a 64), so different cells use different workloads. */
export const seedOf = (id: string): bigint => {
  let h = 0xcbf29ce484222325n
  for (const c of Buffer.from(id)) h = BigInt.asUintN(64, (h ^ BigInt(c)) * 0x100000001b3n)
  return h
}

/** A unit with one case, whose ok detail is the effect's result. */
export const single = (effect: Effect.Effect<string, CaseFailure, Scope.Scope>) =>
  Effect.map(effect, (detail): ReadonlyArray<Outcome> => [O.ok({ detail })])

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

const checkSent = (report: Report, expected: Expected.Expectation, batches: number, delivery: Delivery) =>
  Effect.gen(function* () {
    yield* check(
      report.undelivered === 0,
      () => `sender reported ${report.undelivered} undelivered (errors ${errorsOf(report)})`
    )
    yield* check(
      report.transactions === expected.transactions && report.digest === expected.digest,
      () =>
        `sender reported ${report.transactions} tx digest ${report.digest}, expected ${expected.transactions} tx digest ${expected.digest}`
    )
    if (delivery === "acknowledged")
      yield* check(
        report.acknowledged === batches,
        () => `sender acknowledged ${report.acknowledged} of ${batches} batches`
      )
  })

const pairCase = (scenario: string, s: Impl, r: Impl, t: Transport, d: Delivery): CaseInfo => ({
  id: `${scenario}/${s.name}->${r.name}/${t}/${d}`,
  scenario,
  row: `${s.name} → ${r.name}`,
  col: `${t} ${short(d)}`,
  sender: s.name,
  receiver: r.name,
  transport: t,
  delivery: d
})

// ---------------------------------------------------------------------------------------------
// sender × receiver

interface PairParams {
  readonly batches: number
  readonly txPerBatch: number
  readonly txSize: number
  readonly workers: number
  readonly handlers?: number
  /** Receiver response mode; default: json when acknowledged, none otherwise. */
  readonly respond?: "json" | "none"
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
      flags({ respond, handlers: p.handlers, "expect-transactions": expected.transactions })
    )
    const sender = yield* startSender(s, receiver.endpoint, [
      ...flags({ delivery: d, workers: p.workers, "timeout-ms": p.senderTimeoutMs }),
      ...workloadFlags(workload)
    ])
    const senderExit = yield* sender.exited(p.senderTimeoutMs + 15_000)
    const sent = yield* sender.requireReport()
    yield* expectExitCode(sender, senderExit, 0)
    yield* checkSent(sent, expected, p.batches, d)
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
    return `${expected.transactions} tx, digest ${expected.digest}, ${Math.round(sent.elapsedMs)} ms${evidence}`
  })

const pairScenario = (
  name: string,
  description: string,
  dims: (quick: boolean) => { transports: ReadonlyArray<Transport>; deliveries: ReadonlyArray<Delivery> },
  params: (quick: boolean) => PairParams
): Scenario => ({
  name,
  description,
  units: (plan) => {
    const { transports, deliveries } = dims(plan.quick)
    const p = params(plan.quick)
    const units: Array<Unit> = []
    for (const s of plan.senders)
      for (const r of plan.receivers)
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

// ---------------------------------------------------------------------------------------------
// receiver killed and restarted

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

// ---------------------------------------------------------------------------------------------
// receiver side: the harness writes raw bytes

const frame = (payload: Uint8Array): Uint8Array => FrameEncoder.concat([payload])

/** A one-transaction envelope whose payload is exactly `size` bytes (size ≥ 3). */
export const envelopeOfSize = (size: number, fill = 0x5a): { payload: Uint8Array; tx: Uint8Array } => {
  // payload = tag(1) + varint(len) + len
  let len = size - 2
  while (len > 0 && 1 + varintLength(len) + len > size) len--
  if (1 + varintLength(len) + len !== size) throw new RangeError(`no single-transaction envelope of ${size} bytes`)
  const tx = new Uint8Array(len).fill(fill)
  return { payload: Envelope.encode([tx]), tx }
}

const varintLength = (n: number): number => {
  let l = 1
  while (n >= 0x80) {
    n = Math.floor(n / 128)
    l++
  }
  return l
}

const receiverCase = (scenario: string, r: Impl, t: Transport, variant?: string): CaseInfo => ({
  id: `${scenario}${variant ? `.${variant}` : ""}/${r.name}/${t}`,
  scenario,
  row: variant ?? r.name,
  col: variant ? `${r.name} ${t}` : t,
  receiver: r.name,
  transport: t
})

const sameResponses = (got: ReadonlyArray<Response.Response>, want: ReadonlyArray<Record<string, unknown>>) =>
  got.length === want.length &&
  want.every((w, i) => {
    const g = got[i] as Record<string, unknown>
    return Object.entries(w).every(([k, v]) =>
      k === "error" && typeof v === "string" && v.endsWith("…") && typeof g.error === "string"
        ? g.error.startsWith(v.slice(0, -1))
        : g[k] === v
    )
  })

/** Sends `input` on a fresh connection and checks the responses and the close (a SPEC §10 receiver vector). */
const exchange = (endpoint: string, input: Uint8Array, want: ReadonlyArray<Record<string, unknown>>, closes: boolean) =>
  Effect.scoped(
    Effect.gen(function* () {
      const client = yield* Wire.connect(endpoint)
      // A receiver may close (and reset) before it has read everything we wrote: not our failure.
      yield* client.write(input).pipe(Effect.ignore)
      const state = yield* client.waitFor(
        `${want.length} responses${closes ? " and a close" : ""}`,
        (s) =>
          s.malformed.length > 0 ||
          s.responses.length > want.length ||
          (s.responses.length >= want.length && (!closes || s.closed)) ||
          (s.closed && s.responses.length < want.length),
        5000
      )
      if (state.malformed.length > 0) return yield* decodeError(`malformed response: ${state.malformed[0]}`)
      // Give a wrong extra response or an early close a moment to show up.
      if (!closes) yield* Effect.sleep(50)
      const after = client.state()
      if (!sameResponses(after.responses, want))
        return yield* mismatch(`responses ${JSON.stringify(after.responses)}, expected ${JSON.stringify(want)}`)
      if (closes && !after.closed) return yield* mismatch("connection not closed")
      if (!closes && after.closed) return yield* mismatch(`connection closed${after.error ? ` (${after.error})` : ""}`)
      return `${want.length} responses${closes ? ", closed" : ""}`
    })
  )

interface Vector {
  readonly name: string
  readonly input: string
  readonly maxFrameBytes?: number
  readonly responses: ReadonlyArray<Record<string, unknown>>
  readonly closes: boolean
}

/** The `receiver` vectors of `packages/protocol/vectors/receiver.json`. */
export const receiverVectors = (): ReadonlyArray<Vector> => {
  // The monorepo sibling; else wherever @txlane/protocol resolves (src/index.ts or dist/index.js).
  const sibling = path.join(packageRoot, "..", "protocol")
  const root = fs.existsSync(path.join(sibling, "vectors", "receiver.json"))
    ? sibling
    : path.resolve(path.dirname(fileURLToPath(resolveModule("@txlane/protocol"))), "..")
  const parsed = JSON.parse(fs.readFileSync(path.join(root, "vectors", "receiver.json"), "utf8")) as {
    vectors: ReadonlyArray<Vector>
  }
  return parsed.vectors
}

const hex = (s: string) => Uint8Array.from(Buffer.from(s, "hex"))

/** Every receiver vector over a real socket, per receiver and transport. */
export const vectors: Scenario = {
  name: "vectors",
  description: "every vector of packages/protocol/vectors/receiver.json, over a real socket",
  units: (plan) => {
    const all = receiverVectors()
    const units: Array<Unit> = []
    for (const r of receiversOf(plan))
      for (const t of TRANSPORTS) {
        const cases = all.map(
          (v): CaseInfo => ({
            id: `vector.${v.name}/${r.name}/${t}`,
            scenario: "vectors",
            row: v.name,
            col: `${r.name} ${t}`,
            receiver: r.name,
            transport: t
          })
        )
        units.push({
          cases,
          impls: [r],
          timeoutMs: 90_000,
          run: Effect.gen(function* () {
            const outcomes: Array<Outcome> = []
            const limits = [...new Set(all.map((v) => v.maxFrameBytes ?? Frame.DEFAULT_MAX_FRAME_BYTES))]
            const byLimit = new Map<number, Receiver>()
            const dir = yield* tempDir
            for (const v of all) {
              const limit = v.maxFrameBytes ?? Frame.DEFAULT_MAX_FRAME_BYTES
              if (r.kind === "server" && limit !== Frame.DEFAULT_MAX_FRAME_BYTES) {
                outcomes.push(O.skipped({ detail: `needs --max-frame-bytes ${limit}`, toolchain: false }))
                continue
              }
              let receiver = byLimit.get(limit)
              if (receiver === undefined) {
                const started = yield* startReceiver(
                  r,
                  yield* listenEndpoint(r, t, dir, `r${limits.indexOf(limit)}.sock`),
                  flags({
                    respond: "json",
                    "max-frame-bytes": limit === Frame.DEFAULT_MAX_FRAME_BYTES ? undefined : limit
                  })
                ).pipe(Effect.result)
                if (Result.isFailure(started)) {
                  outcomes.push(fromFailure(started.failure))
                  continue
                }
                receiver = started.success
                byLimit.set(limit, receiver)
              }
              const got = yield* exchange(receiver.endpoint, hex(v.input), v.responses, v.closes).pipe(Effect.result)
              outcomes.push(Result.isSuccess(got) ? O.ok({ detail: got.success }) : fromFailure(got.failure))
            }
            // Every receiver must still be alive and report cleanly.
            for (const receiver of byLimit.values()) yield* stopReceiver(receiver)
            return outcomes
          })
        })
      }
    return units
  }
}

const receiversOf = (plan: Plan): ReadonlyArray<Impl> => (plan.receiverScenarios === false ? [] : plan.receivers)

const fromFailure = (f: CaseFailure): Outcome =>
  f.outcome === "mismatch"
    ? O.mismatch({ detail: f.detail })
    : f.outcome === "decodeError"
      ? O.decodeError({ detail: f.detail })
      : f.outcome === "transportError"
        ? O.transportError({ detail: f.detail })
        : O.timeout({ detail: f.detail })

/** The receiver's frame limit: exactly `maxFrameBytes` accepted, one more rejected and closed. */
export const frameLimit: Scenario = {
  name: "frame-limit",
  description: "receiver --max-frame-bytes 4096: a 4096-byte frame is accepted, 4097 answered and closed (SPEC §3, §6)",
  units: (plan) =>
    receiversOf(plan).flatMap((r) =>
      TRANSPORTS.map(
        (t): Unit => ({
          cases: [receiverCase("frame-limit", r, t)],
          impls: [r],
          timeoutMs: 60_000,
          run:
            r.kind === "server"
              ? Effect.succeed([O.skipped({ detail: "needs --max-frame-bytes", toolchain: false })])
              : single(
                  Effect.gen(function* () {
                    const M = 4096
                    const dir = yield* tempDir
                    const receiver = yield* startReceiver(
                      r,
                      yield* listenEndpoint(r, t, dir),
                      flags({ respond: "json", "max-frame-bytes": M })
                    )
                    const exact = envelopeOfSize(M, 0x11)
                    yield* exchange(receiver.endpoint, frame(exact.payload), [{ success: true, count: 1 }], false)
                    const over = envelopeOfSize(M + 1, 0x22)
                    yield* exchange(
                      receiver.endpoint,
                      frame(over.payload),
                      [{ success: false, error: Response.ErrorText.tooLarge(M + 1, M) }],
                      true
                    )
                    const small = envelopeOfSize(100, 0x33)
                    yield* exchange(receiver.endpoint, frame(small.payload), [{ success: true, count: 1 }], false)
                    const report = yield* stopReceiver(receiver)
                    const expected = {
                      transactions: 2,
                      digest: Digest.of([exact.tx, small.tx]),
                      bytes: 0,
                      batchPayloadBytes: 0
                    }
                    yield* checkReceived(report, expected, "accepted frames")
                    if (report)
                      yield* check(
                        (report.errors.FrameTooLarge ?? 0) === 1,
                        () => `receiver reported errors ${errorsOf(report)}, expected FrameTooLarge=1`
                      )
                    return `${M} accepted, ${M + 1} rejected and closed, next connection fine`
                  })
                )
        })
      )
    )
}

/** Zero-length frames: answered (json) or ignored (none), never submitted. */
export const zeroLength: Scenario = {
  name: "zero-length",
  description:
    "a zero-length frame between valid ones: `Empty Transactions message` (json) or ignored (none); never submitted",
  units: (plan) =>
    receiversOf(plan).flatMap((r) =>
      TRANSPORTS.map(
        (t): Unit => ({
          cases: [receiverCase("zero-length", r, t, "json"), receiverCase("zero-length", r, t, "none")],
          impls: [r],
          timeoutMs: 60_000,
          run: Effect.gen(function* () {
            const dir = yield* tempDir
            const outcomes: Array<Outcome> = []
            for (const respond of ["json", "none"] as const) {
              if (respond === "none" && r.kind === "server") {
                outcomes.push(O.skipped({ detail: "an outside server always answers", toolchain: false }))
                continue
              }
              const result = yield* Effect.scoped(
                Effect.gen(function* () {
                  const receiver = yield* startReceiver(
                    r,
                    yield* listenEndpoint(r, t, dir, `${respond}.sock`),
                    flags({ respond })
                  )
                  const a = envelopeOfSize(300, 0x44)
                  const b = envelopeOfSize(301, 0x45)
                  const input = FrameEncoder.concat([a.payload, new Uint8Array(0), b.payload])
                  if (respond === "json") {
                    yield* exchange(
                      receiver.endpoint,
                      input,
                      [
                        { success: true, count: 1 },
                        { success: false, error: Response.ErrorText.empty },
                        { success: true, count: 1 }
                      ],
                      false
                    )
                  } else {
                    yield* Effect.scoped(
                      Effect.gen(function* () {
                        const client = yield* Wire.connect(receiver.endpoint)
                        yield* client.write(input)
                        yield* client.end()
                        const s = yield* client.waitFor(
                          "the receiver to close after our half-close",
                          (s) => s.closed,
                          5000
                        )
                        if (s.responses.length > 0 || s.malformed.length > 0)
                          return yield* mismatch(
                            `respond none wrote ${s.responses.length + s.malformed.length} responses`
                          )
                      })
                    )
                  }
                  const report = yield* stopReceiver(receiver)
                  yield* checkReceived(
                    report,
                    { transactions: 2, digest: Digest.of([a.tx, b.tx]), bytes: 0, batchPayloadBytes: 0 },
                    "around a zero-length frame"
                  )
                  return `${respond}: empty frame not submitted, neighbours delivered`
                })
              ).pipe(Effect.result)
              outcomes.push(Result.isSuccess(result) ? O.ok({ detail: result.success }) : fromFailure(result.failure))
            }
            return outcomes
          })
        })
      )
    )
}

/** A connection cut inside a frame: the partial frame is discarded and counted; others carry on. */
export const truncated: Scenario = {
  name: "truncated",
  description:
    "a connection that ends mid-frame: earlier frames delivered, partial frame discarded, TruncatedFrame counted",
  units: (plan) =>
    receiversOf(plan).flatMap((r) =>
      TRANSPORTS.map(
        (t): Unit => ({
          cases: [receiverCase("truncated", r, t)],
          impls: [r],
          timeoutMs: 60_000,
          run: single(
            Effect.gen(function* () {
              const dir = yield* tempDir
              const receiver = yield* startReceiver(r, yield* listenEndpoint(r, t, dir), flags({ respond: "json" }))
              const whole = envelopeOfSize(500, 0x66)
              const cut = envelopeOfSize(500, 0x67)
              const cutFrame = frame(cut.payload)
              yield* Effect.scoped(
                Effect.gen(function* () {
                  const client = yield* Wire.connect(receiver.endpoint)
                  yield* client.write(FrameEncoder.concat([whole.payload]))
                  yield* client.waitFor("the first response", (s) => s.responses.length >= 1 || s.closed, 5000)
                  yield* client.write(cutFrame.subarray(0, 4 + 250))
                  yield* client.end()
                  const s = yield* client.waitFor("the receiver to close", (s) => s.closed, 5000)
                  if (!sameResponses(s.responses, [{ success: true, count: 1 }]))
                    return yield* mismatch(`responses ${JSON.stringify(s.responses)}, expected one success`)
                })
              )
              const next = envelopeOfSize(120, 0x68)
              yield* exchange(receiver.endpoint, frame(next.payload), [{ success: true, count: 1 }], false)
              const report = yield* stopReceiver(receiver)
              yield* checkReceived(
                report,
                { transactions: 2, digest: Digest.of([whole.tx, next.tx]), bytes: 0, batchPayloadBytes: 0 },
                "around a truncated frame"
              )
              if (report)
                yield* check(
                  (report.errors.TruncatedFrame ?? 0) === 1,
                  () => `receiver reported errors ${errorsOf(report)}, expected TruncatedFrame=1`
                )
              return "partial frame discarded and counted, next connection fine"
            })
          )
        })
      )
    )
}

// ---------------------------------------------------------------------------------------------
// sender side

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
    yield* Effect.sleep(50)
    const got = collector.collected()
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

/** The whole suite, in report order. */
export const all: ReadonlyArray<Scenario> = [
  stream,
  tx1,
  workers16,
  ffJson,
  killRestart,
  vectors,
  frameLimit,
  zeroLength,
  truncated,
  senderLimit
]
