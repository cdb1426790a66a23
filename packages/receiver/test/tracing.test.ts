/**
 * Spans over a real socket, recorded by an in-memory tracer: one `txlane.process` span per frame
 * with the OpenTelemetry messaging attributes, `submit`'s own spans nested under it, and an error
 * status for a failed submit or a rejected frame.
 */
import { assert, describe, it } from "@effect/vitest"
import { Envelope, FrameEncoder } from "@txlane/protocol"
import { Data, Effect, Exit, References, Tracer } from "effect"
import { afterAll } from "vitest"
import { Receiver } from "../src/index.js"
import { Client, cleanupTempDirs, tempSocketPath } from "./helpers.js"

afterAll(cleanupTempDirs)

class Refused extends Data.TaggedError("Refused")<{ readonly reason: string }> {}

const recordingTracer = () => {
  const spans: Array<Tracer.NativeSpan> = []
  const tracer = Tracer.make({
    span(options) {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })
  return { spans, tracer }
}

const texts = (...items: Array<string>) => Envelope.encode(items.map((t) => new TextEncoder().encode(t)))

describe("spans", () => {
  it.live("a traced receiver gives each frame a txlane.process span; submit's spans are its children", () =>
    Effect.gen(function* () {
      const { spans, tracer } = recordingTracer()
      const payloads = [texts("a", "b", "c"), texts("refuse"), Uint8Array.of(0xff, 0xff), new Uint8Array(0)]
      // Closing the scope shuts the receiver down: every frame's span has ended by then.
      const address = yield* Effect.scoped(
        Effect.gen(function* () {
          const receiver = yield* Receiver.make({
            listen: tempSocketPath(),
            submit: ({ transactions }) => {
              const first = new TextDecoder().decode(transactions[0])
              const work =
                first === "refuse"
                  ? Effect.fail(new Refused({ reason: "not now" }))
                  : Effect.succeed({ count: transactions.length })
              return work.pipe(Effect.withSpan("app.submit"))
            }
          })
          yield* Effect.promise(async () => {
            const client = await Client.connect(receiver.address)
            client.write(FrameEncoder.concat(payloads))
            await client.awaitResponses(payloads.length)
            client.destroy()
          })
          return receiver.address
        })
      ).pipe(Effect.provideService(Tracer.Tracer, tracer), Effect.provideService(References.MinimumLogLevel, "None"))

      const processed = spans.filter((s) => s.name === "txlane.process")
      assert.strictEqual(processed.length, 4)
      for (const [i, span] of processed.entries()) {
        assert.strictEqual(span.kind, "consumer")
        assert.strictEqual(span.status._tag, "Ended")
        assert.deepInclude(Object.fromEntries(span.attributes), {
          "messaging.system": "txlane",
          "messaging.operation.type": "process",
          "messaging.operation.name": "process",
          "messaging.destination.name": address,
          "messaging.message.body.size": payloads[i]!.length
        })
      }
      const exits = processed.map((s) => (s.status._tag === "Ended" ? s.status.exit : undefined))
      assert.deepStrictEqual(
        exits.map((e) => e !== undefined && Exit.isSuccess(e)),
        [true, false, false, false]
      )
      assert.strictEqual(processed[0]!.attributes.get("messaging.batch.message_count"), 3)
      assert.strictEqual(processed[1]!.attributes.get("messaging.batch.message_count"), 1)
      const app = spans.filter((s) => s.name === "app.submit")
      assert.strictEqual(app.length, 2)
      for (const [i, span] of app.entries()) {
        assert.strictEqual(span.parent._tag === "Some" ? span.parent.value.spanId : undefined, processed[i]!.spanId)
      }
    })
  )

  it.live("without a tracer installed, frames get no spans", () =>
    Effect.gen(function* () {
      let parent: string | undefined = "unset"
      const receiver = yield* Receiver.make({
        listen: tempSocketPath(),
        submit: () =>
          Effect.gen(function* () {
            const span = yield* Effect.option(Effect.currentParentSpan)
            parent = span._tag === "Some" ? span.value.spanId : undefined
            return {}
          })
      })
      yield* Effect.promise(async () => {
        const client = await Client.connect(receiver.address)
        client.write(FrameEncoder.concat([texts("a")]))
        await client.awaitResponses(1)
        client.destroy()
      })
      assert.strictEqual(parent, undefined)
    })
  )
})
