/**
 * `txlane.send` spans (issue #15), over a real socket: with a tracer in the context the sender is
 * made in, each batch gets one span from enqueue to its outcome, with the OpenTelemetry
 * messaging attributes; without one, or with tracing turned off, no span is made.
 */
import { assert, describe, it } from "@effect/vitest"
import { Envelope } from "@txlane/protocol"
import { Workload } from "@txlane/protocol/testing"
import { Effect, Exit, Tracer } from "effect"
import { Sender } from "../src/index.js"
import { startServer, type TestServer } from "./server.js"

const withServer = (options: Parameters<typeof startServer>[0] = {}) =>
  Effect.acquireRelease(
    Effect.promise(() => startServer(options)),
    (s: TestServer) => Effect.promise(() => s.close())
  )

/** A tracer that keeps every span it makes. */
const memoryTracer = () => {
  const spans: Array<Tracer.Span> = []
  const tracer = Tracer.make({
    span: (options) => {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })
  return { spans, tracer }
}

const work = [...Workload.batches({ batches: 3, txPerBatch: 4, txSize: 120 })]

describe("txlane.send spans", () => {
  it.live("acknowledged: one span per batch, enqueue to acknowledgement, with the messaging attributes", () =>
    Effect.gen(function* () {
      const server = yield* withServer()
      const { spans, tracer } = memoryTracer()
      const sender = yield* Sender.make({ endpoint: server.path, delivery: "acknowledged" }).pipe(
        Effect.withTracer(tracer)
      )
      for (const batch of work) assert.strictEqual(yield* sender.send(batch), 4)
      const mine = spans.filter((s) => s.name === "txlane.send")
      assert.strictEqual(mine.length, 3)
      for (const [i, span] of mine.entries()) {
        assert.strictEqual(span.kind, "producer")
        assert.strictEqual(span.status._tag, "Ended")
        if (span.status._tag === "Ended") assert.isTrue(Exit.isSuccess(span.status.exit))
        assert.deepStrictEqual(Object.fromEntries(span.attributes), {
          "messaging.system": "txlane",
          "messaging.operation.type": "send",
          "messaging.operation.name": "send",
          "messaging.destination.name": server.path,
          "messaging.batch.message_count": 4,
          "messaging.message.body.size": Envelope.encode(work[i]!).length
        })
      }
      // Each span saw its batch written once.
      for (const span of mine) {
        const events = (span as Tracer.NativeSpan).events
        assert.deepStrictEqual(
          events.map(([name]) => name),
          ["write"]
        )
      }
    })
  )

  it.live("a rejected batch ends its span with the error and error.type", () =>
    Effect.gen(function* () {
      const server = yield* withServer({ respond: "reject" })
      const { spans, tracer } = memoryTracer()
      const sender = yield* Sender.make({ endpoint: server.path, delivery: "acknowledged" }).pipe(
        Effect.withTracer(tracer)
      )
      const error = yield* Effect.flip(sender.send(work[0]!))
      assert.strictEqual(error._tag, "Rejected")
      const span = spans.find((s) => s.name === "txlane.send")!
      assert.strictEqual(span.attributes.get("error.type"), "Rejected")
      assert.isTrue(span.status._tag === "Ended" && Exit.isFailure(span.status.exit))
    })
  )

  it.live("fire-and-forget: the span ends when the batch is delivered", () =>
    Effect.gen(function* () {
      const server = yield* withServer({ respond: "none" })
      const { spans, tracer } = memoryTracer()
      const sender = yield* Sender.make({ endpoint: server.path, responses: "none" }).pipe(Effect.withTracer(tracer))
      for (const batch of work) yield* sender.send(batch)
      const report = yield* sender.close()
      assert.strictEqual(report.delivered, 3)
      const mine = spans.filter((s) => s.name === "txlane.send")
      assert.strictEqual(mine.length, 3)
      for (const span of mine) assert.isTrue(span.status._tag === "Ended" && Exit.isSuccess(span.status.exit))
    })
  )

  it.live("without a tracer, no span is made", () =>
    Effect.gen(function* () {
      const server = yield* withServer()
      const { spans, tracer } = memoryTracer()
      const sender = yield* Sender.make({ endpoint: server.path, delivery: "acknowledged" })
      // A tracer around the send alone is not the sender's: spans follow the context it was made in.
      yield* sender.send(work[0]!).pipe(Effect.withTracer(tracer))
      assert.strictEqual(spans.filter((s) => s.name === "txlane.send").length, 0)
    })
  )

  it.live("with tracing turned off (References.TracerEnabled), no span is made", () =>
    Effect.gen(function* () {
      const server = yield* withServer()
      const { spans, tracer } = memoryTracer()
      const sender = yield* Sender.make({ endpoint: server.path, delivery: "acknowledged" }).pipe(
        Effect.withTracer(tracer),
        Effect.withTracerEnabled(false)
      )
      assert.strictEqual(yield* sender.send(work[0]!), 4)
      assert.strictEqual(spans.filter((s) => s.name === "txlane.send").length, 0)
    })
  )
})
