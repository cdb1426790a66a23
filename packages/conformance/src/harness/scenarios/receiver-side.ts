/**
 * Receiver-only scenarios: the harness writes raw bytes (frame limit, zero-length frames, a
 * connection cut mid-frame) and checks the responses, the close and the receiver's report.
 *
 * @module
 */
import { FrameEncoder, Response } from "@txlane/protocol"
import { Digest } from "@txlane/protocol/testing"
import { Effect, Result } from "effect"
import { flags, listenEndpoint, startReceiver, stopReceiver, tempDir } from "../Cells.js"
import { fromFailure, mismatch, Outcome as O, type Outcome } from "../Outcome.js"
import * as Wire from "../Wire.js"
import { check, checkReceived, errorsOf } from "./checks.js"
import { type Scenario, single, TRANSPORTS, type Unit } from "./model.js"
import { envelopeOfSize, exchange, frame, receiverCase, receiversOf, sameResponses } from "./receiver-wire.js"

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
