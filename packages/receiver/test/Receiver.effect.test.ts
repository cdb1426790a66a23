import { assert, describe, it } from "@effect/vitest"
import { Envelope, FrameEncoder } from "@txlane/protocol"
import { Data, Effect, Layer, Logger, Metric, References } from "effect"
import { afterAll } from "vitest"
import { Metrics, Receiver } from "../src/index.js"
import { Client, cleanupTempDirs, frames, tempSocketPath, waitFor } from "./helpers.js"

afterAll(cleanupTempDirs)

class NotReady extends Data.TaggedError("NotReady")<{ readonly epoch: number }> {
  override get message() {
    return `Node not ready: epoch ${this.epoch}`
  }
}

const request = (text: string) => Buffer.from(FrameEncoder.concat([Envelope.encode([new TextEncoder().encode(text)])]))

const roundTrip = (address: string, texts: Array<string>) =>
  Effect.promise(async () => {
    const client = await Client.connect(address)
    for (const t of texts) client.write(request(t))
    const responses = await client.awaitResponses(texts.length)
    client.destroy()
    return responses
  })

const quiet = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(
    Effect.provideService(References.MinimumLogLevel, "None"),
    Effect.provideService(Metric.MetricRegistry, new Map())
  )

describe("Receiver (Effect API)", () => {
  it.live("typed failures and defects of submit become error responses; the layer shuts down with its scope", () =>
    Effect.gen(function* () {
      const path = tempSocketPath()
      const program = Effect.gen(function* () {
        const receiver = yield* Receiver.Receiver
        const responses = yield* roundTrip(receiver.address, ["fail", "die", "ok"])
        assert.deepStrictEqual(responses, [
          { success: false, error: "Transaction submission failed: Node not ready: epoch 3" },
          { success: false, error: "Transaction submission failed: boom" },
          { success: true, count: 5 }
        ])
        assert.strictEqual(receiver.statsUnsafe().errors.SubmitFailed, 2)
      })
      yield* program.pipe(
        Effect.provide(
          Receiver.layer({
            listen: path,
            submit: ({ transactions }) => {
              const text = new TextDecoder().decode(transactions[0])
              if (text === "fail") return Effect.fail(new NotReady({ epoch: 3 }))
              if (text === "die") return Effect.die(new Error("boom"))
              return Effect.succeed({ count: 5 })
            }
          })
        )
      )
      const { existsSync } = yield* Effect.promise(() => import("node:fs"))
      assert.isFalse(existsSync(path))
    }).pipe(quiet)
  )

  it.live("submit runs with the receiver's context, whether it completes at once or suspends", () =>
    Effect.gen(function* () {
      // Without a tracer each frame's submit runs on a fiber of its own (internal/effectSubmit.ts),
      // not on a handler fiber forked in the receiver's scope: it must still see what was provided
      // around Receiver.make (here its logger and log annotations).
      const lines: Array<string> = []
      const capture = Logger.make(({ message, fiber }) => {
        const text = (Array.isArray(message) ? message : [message]).join(" ")
        const annotations = fiber.getRef(References.CurrentLogAnnotations)
        lines.push(`${text} app=${String(annotations.app)}`)
      })
      const responses = yield* Effect.gen(function* () {
        const receiver = yield* Receiver.make({
          listen: tempSocketPath(),
          submit: ({ transactions }) => {
            const text = new TextDecoder().decode(transactions[0])
            const log = Effect.logInfo(`submitted ${text}`)
            return text === "later" ? Effect.andThen(Effect.sleep(5), log) : log
          }
        })
        return yield* roundTrip(receiver.address, ["now", "later"])
      }).pipe(
        Effect.scoped,
        Effect.annotateLogs({ app: "consensus" }),
        Effect.provide(Logger.layer([capture])),
        Effect.provideService(References.MinimumLogLevel, "Info")
      )
      assert.deepStrictEqual(responses, [
        { success: true, count: 1 },
        { success: true, count: 1 }
      ])
      assert.includeMembers(lines, ["submitted now app=consensus", "submitted later app=consensus"])
    }).pipe(Effect.provideService(Metric.MetricRegistry, new Map()))
  )

  it.live("at the close deadline a running submit is interrupted, and its finalizers have run when close returns", () =>
    Effect.gen(function* () {
      let interrupted = 0
      const report = yield* Effect.gen(function* () {
        const receiver = yield* Receiver.make({
          listen: tempSocketPath(),
          submit: () => Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => interrupted++)))
        })
        const client = yield* Effect.promise(() => Client.connect(receiver.address))
        client.write(request("stuck"))
        yield* Effect.promise(() => waitFor(() => receiver.statsUnsafe().handlersBusy === 1, 2000))
        const report = yield* receiver.close({ timeout: 100 })
        client.destroy()
        return report
      }).pipe(Effect.scoped)
      assert.deepInclude(report, { timedOut: true, unsubmittedFrames: 1, interruptedSubmits: 1 })
      assert.strictEqual(interrupted, 1)
    }).pipe(quiet)
  )

  it.live("metrics: Prometheus text with a receiver attribute per instance", () =>
    Effect.gen(function* () {
      const a = yield* Receiver.make({ listen: tempSocketPath(), name: "node-0", submit: () => Effect.succeed({}) })
      yield* Receiver.make({ listen: tempSocketPath(), name: "node-1", submit: () => Effect.succeed({}) })
      yield* roundTrip(a.address, ["x", "y"])
      const text = yield* Metrics.renderPrometheus()
      assert.include(text, 'txlane_receiver_frames_received_total{receiver="node-0"} 2')
      assert.include(text, 'txlane_receiver_frames_received_total{receiver="node-1"} 0')
      assert.include(text, 'txlane_receiver_errors_total{receiver="node-0",kind="FrameTooLarge"} 0')
      assert.include(text, 'txlane_receiver_submit_duration_seconds_count{receiver="node-0"} 2')
      for (const name of Object.values(Metrics.names)) assert.include(text, name)
      // A receiver's own `metrics` holds its series only.
      const own = yield* a.metrics
      assert.include(own, 'txlane_receiver_frames_received_total{receiver="node-0"} 2')
      assert.notInclude(own, 'receiver="node-1"')
      const stats = a.statsUnsafe()
      assert.strictEqual(stats.framesSubmitted, 2)
      // Two frames were handled, so the handlers were busy for some time, and never more than always.
      assert.isAbove(stats.handlerBusyRatio, 0)
      assert.isAtMost(stats.handlerBusyRatio, 1)
    }).pipe(quiet)
  )

  it.live("a flood of bad frames is counted in full but logged at most once per kind per second", () =>
    Effect.gen(function* () {
      const warnings: Array<string> = []
      const capture = Logger.make(({ message, logLevel }) => {
        if (logLevel === "Warn") warnings.push((Array.isArray(message) ? message : [message]).join(" "))
      })
      const BAD = 500
      const t0 = Date.now()
      const stats = yield* Effect.gen(function* () {
        const receiver = yield* Receiver.make({ listen: tempSocketPath(), submit: () => Effect.succeed({}) })
        const responses = yield* Effect.promise(async () => {
          const client = await Client.connect(receiver.address)
          // 0xff: field 31, wire type 7 — not a Transactions envelope; each gets an error response.
          client.write(frames(...Array.from({ length: BAD }, () => new Uint8Array([0xff]))))
          const responses = await client.awaitResponses(BAD)
          client.destroy()
          return responses
        })
        assert.isTrue(responses.every((r) => !r.success))
        return receiver.statsUnsafe()
      }).pipe(Effect.scoped, Effect.provide(Logger.layer([capture])))
      const seconds = Math.ceil((Date.now() - t0) / 1000)
      assert.strictEqual(stats.errors.MalformedEnvelope, BAD)
      // Every warning here is about a malformed envelope: one kind, so one per second at most.
      assert.isAtLeast(warnings.length, 1)
      assert.isAtMost(warnings.length, seconds + 1, warnings.join("\n"))
      assert.include(warnings[0], "unexpected end of payload")
    }).pipe(Effect.provideService(Metric.MetricRegistry, new Map()))
  )

  it.live("invalid options fail with InvalidOptions before anything is bound", () =>
    Effect.gen(function* () {
      const bad = [
        { handlers: 0 },
        { socketMode: 0o1777 },
        { maxConnections: 0 },
        { frameTimeout: -1 },
        { maxBufferedBytes: Number.NaN },
        { maxFrameBytes: 2 ** 32 }
      ]
      for (const options of bad) {
        const error = yield* Effect.flip(
          Effect.scoped(Receiver.make({ listen: tempSocketPath(), submit: () => Effect.succeed({}), ...options }))
        )
        assert.strictEqual(error._tag, "InvalidOptions")
        assert.strictEqual(error._tag === "InvalidOptions" && error.option, Object.keys(options)[0])
      }
    })
  )

  it.live("the layer can be built and released repeatedly on the same path", () =>
    Effect.gen(function* () {
      const path = tempSocketPath()
      const layer = Receiver.layer({ listen: path, submit: () => Effect.succeed({}) })
      for (let i = 0; i < 3; i++) {
        const responses = yield* Effect.gen(function* () {
          const r = yield* Receiver.Receiver
          return yield* roundTrip(r.address, [`run ${i}`])
        }).pipe(Effect.provide(Layer.fresh(layer)))
        assert.deepStrictEqual(responses, [{ success: true, count: 1 }])
      }
    }).pipe(quiet)
  )
})
