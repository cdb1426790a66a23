/**
 * The acknowledged-mode window (`src/sender/Lanes.ts`) with a send that completes only when the
 * test says so: never more than `size` sends outstanding, every payload sent once and in order of
 * taking, `feed` done once its run is taken, and `end` leaving the rest of a run unsent while the
 * sends already started still settle before `drain` completes.
 */
import { Deferred, Effect, Exit, Fiber } from "effect"
import { describe, expect, it } from "vitest"
import * as Lanes from "../src/sender/Lanes.js"

const payloads = (n: number) => Array.from({ length: n }, (_, i) => Uint8Array.of(i))

/** A send that waits for `settle`; records what was taken and how many were outstanding at most. */
const gatedSend = () => {
  const taken: Array<number> = []
  const waiting: Array<Deferred.Deferred<void>> = []
  let outstanding = 0
  let most = 0
  const send = (payload: Uint8Array) => {
    taken.push(payload[0]!)
    outstanding++
    most = Math.max(most, outstanding)
    const done = Deferred.makeUnsafe<void>()
    waiting.push(done)
    return Effect.ensuring(
      Deferred.await(done),
      Effect.sync(() => {
        outstanding--
      })
    )
  }
  /** Lets the `n` oldest sends complete. */
  const settle = (n: number) =>
    Effect.sync(() => {
      for (const done of waiting.splice(0, n)) Deferred.doneUnsafe(done, Exit.void)
    }).pipe(Effect.andThen(Effect.yieldNow))
  return {
    send,
    settle,
    taken,
    get outstanding() {
      return outstanding
    },
    get most() {
      return most
    }
  }
}

const run = <A>(effect: Effect.Effect<A, never, never>) => Effect.runPromise(effect)

describe("Lanes", () => {
  it("keeps at most `size` sends outstanding and sends every payload once, in order", async () => {
    const gate = gatedSend()
    await run(
      Effect.scoped(
        Effect.gen(function* () {
          const lanes = yield* Lanes.make(3, gate.send)
          const feeding = yield* Effect.forkChild(lanes.feed(payloads(10)))
          yield* Effect.yieldNow
          expect(gate.taken).toEqual([0, 1, 2])
          for (let i = 0; i < 20 && gate.taken.length < 10; i++) {
            yield* gate.settle(1)
            expect(gate.outstanding).toBeLessThanOrEqual(3)
          }
          // Every payload taken: feed is done although the last sends are still outstanding.
          yield* Fiber.join(feeding)
          expect(gate.outstanding).toBe(3)
          const second = yield* Effect.forkChild(lanes.feed(payloads(2).map((p) => Uint8Array.of(p[0]! + 10))))
          yield* gate.settle(2)
          yield* Fiber.join(second)
          const draining = yield* Effect.forkChild(lanes.drain)
          yield* gate.settle(3)
          yield* Fiber.join(draining)
        })
      )
    )
    expect(gate.taken).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    expect(gate.most).toBe(3)
    expect(gate.outstanding).toBe(0)
  })

  it("feed succeeds once the send of every payload started, the last one's included", async () => {
    let started = 0
    const gates: Array<Deferred.Deferred<void>> = []
    const send = () =>
      Effect.suspend(() => {
        started++
        const gate = Deferred.makeUnsafe<void>()
        gates.push(gate)
        return Deferred.await(gate)
      })
    let startedWhenFed = -1
    await run(
      Effect.scoped(
        Effect.gen(function* () {
          const lanes = yield* Lanes.make(1, send)
          const feeding = yield* Effect.forkChild(
            Effect.andThen(
              lanes.feed(payloads(2)),
              Effect.sync(() => {
                // What the command does next at the end of its input: close the sender. A send
                // that has not started by then would be refused.
                startedWhenFed = started
              })
            )
          )
          yield* Effect.yieldNow
          expect(started).toBe(1)
          // The first send settles: the lane takes the last payload while the feeder waits.
          Deferred.doneUnsafe(gates[0]!, Exit.void)
          yield* Fiber.join(feeding)
          expect(startedWhenFed).toBe(2)
          lanes.end()
          Deferred.doneUnsafe(gates[1]!, Exit.void)
          yield* lanes.drain
        })
      )
    )
  })

  it("end: the rest of the run is not sent; drain waits for the sends already started", async () => {
    const gate = gatedSend()
    await run(
      Effect.scoped(
        Effect.gen(function* () {
          const lanes = yield* Lanes.make(2, gate.send)
          // The input loop is interrupted (SIGTERM, --duration) while the run is being taken.
          const feeding = yield* Effect.forkChild(lanes.feed(payloads(5)))
          yield* Effect.yieldNow
          yield* Fiber.interrupt(feeding)
          lanes.end()
          const draining = yield* Effect.forkChild(lanes.drain)
          yield* Effect.yieldNow
          expect(draining.pollUnsafe()).toBeUndefined()
          yield* gate.settle(2)
          yield* Fiber.join(draining)
          // Ended lanes take nothing more.
          yield* lanes.feed(payloads(3))
        })
      )
    )
    expect(gate.taken).toEqual([0, 1])
    expect(gate.outstanding).toBe(0)
  })
})
