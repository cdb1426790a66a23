/**
 * Frame and idle timeouts, on Effect's `TestClock`: the receiver's sweeper reads `Clock` and
 * connections stamp events with the coarse now it publishes (src/internal/sweeper.ts), so these
 * tests move time with `TestClock.adjust` instead of sleeping, over real sockets.
 */
import { assert, describe, it } from "@effect/vitest"
import { Envelope, Response } from "@txlane/protocol"
import { Effect, References } from "effect"
import { TestClock } from "effect/testing"
import { afterAll } from "vitest"
import { type InputError, Receiver } from "../src/index.js"
import { Client, cleanupTempDirs, frames, header, tempSocketPath } from "./helpers.js"

afterAll(cleanupTempDirs)

const batch = (text: string) => Envelope.encode([new TextEncoder().encode(text)])

const start = (options: { readonly frameTimeoutMs?: number; readonly idleTimeoutMs?: number }) =>
  Effect.gen(function* () {
    const errors: Array<InputError> = []
    const receiver = yield* Receiver.make({
      listen: tempSocketPath(),
      submit: () => Effect.succeed({}),
      onInputError: (error) => errors.push(error),
      frameTimeout: options.frameTimeoutMs,
      idleTimeout: options.idleTimeoutMs
    })
    return { receiver, errors }
  }).pipe(Effect.provideService(References.MinimumLogLevel, "None"))

const connect = (address: string) =>
  Effect.acquireRelease(
    Effect.promise(() => Client.connect(address)),
    (client) => Effect.sync(() => client.destroy())
  )

const answered = (client: Client, n: number) => Effect.promise(() => client.awaitResponses(n))
const serverClosed = (client: Client) => Effect.promise(() => client.awaitServerClose())

describe("timeouts (TestClock)", () => {
  it.effect(
    "frameTimeoutMs: a connection stalled inside a frame is closed, not early; idle and steady ones are not",
    () =>
      Effect.gen(function* () {
        const { receiver, errors } = yield* start({ frameTimeoutMs: 150 })
        const stalled = yield* connect(receiver.address)
        const idle = yield* connect(receiver.address)
        const steady = yield* connect(receiver.address)
        // A whole frame, then 14 bytes of a 100-byte one: the answer to the first proves the
        // receiver has read (and stamped) the partial one.
        stalled.write(Buffer.concat([frames(batch("a")), header(100), Buffer.alloc(10)]))
        yield* answered(stalled, 1)
        idle.write(frames(batch("i")))
        yield* answered(idle, 1)
        // The steady client sends a whole frame every 50 ms for 500 ms.
        for (let i = 0; i < 10; i++) {
          steady.write(frames(batch(`s${i}`)))
          yield* answered(steady, i + 1)
          yield* TestClock.adjust(50)
          if (i === 2) assert.deepStrictEqual(errors, [], "no timeout after exactly frameTimeoutMs")
        }
        yield* serverClosed(stalled)
        assert.deepStrictEqual(
          errors.map((e) => e._tag),
          ["FrameTimeout"]
        )
        assert.deepInclude(errors[0], { timeoutMs: 150, received: 14 })
        assert.isFalse(idle.ended || idle.closed)
        idle.write(frames(batch("still here")))
        assert.deepStrictEqual((yield* answered(idle, 2))[1], Response.success(1))
        assert.strictEqual(steady.responses.length, 10)
      })
  )

  it.effect("idleTimeoutMs: a silent connection is closed once the timeout has passed, not before", () =>
    Effect.gen(function* () {
      const { receiver, errors } = yield* start({ idleTimeoutMs: 100 })
      const client = yield* connect(receiver.address)
      client.write(frames(batch("last words")))
      yield* answered(client, 1)
      yield* TestClock.adjust(100)
      assert.deepStrictEqual(errors, [])
      assert.isFalse(client.ended || client.closed)
      yield* TestClock.adjust(100)
      yield* serverClosed(client)
      assert.deepStrictEqual(
        errors.map((e) => e._tag),
        ["IdleTimeout"]
      )
      assert.strictEqual(receiver.statsUnsafe().errors.IdleTimeout, 1)
    })
  )
})
