/**
 * The acknowledged-mode window of `txlane-sender`: `size` long-lived lanes (fibers), each with at
 * most one send outstanding, take the payloads of the run the input loop hands over. So at most
 * `size` acknowledged sends are outstanding, and a batch costs its send and no fiber of its own.
 *
 * The command used to fork a fiber per batch (a semaphore permit, a fork into a `FiberSet`, an
 * `ensuring`): 6–13 µs of fiber bookkeeping a batch against 2–4 µs for a lane's loop turn, and
 * about half of Effect's share of the command's profile (README, "Throughput of the command").
 *
 * The lanes belong to the scope they were made in, not to the input loop: when the input stops
 * (its end, `--duration`, SIGTERM) they take no more payloads, but the sends they hold still
 * settle, so their answers are counted before the summary.
 *
 * @module
 */
import { Deferred, Effect, Exit, FiberSet, type Scope } from "effect"

/** The lanes of one sender. */
export interface Lanes {
  /**
   * Hands a run of payloads to the lanes; succeeds once the send of every payload of it started
   * (not settled). Interrupted, it leaves the rest of the run to {@link Lanes.end}.
   */
  readonly feed: (run: ReadonlyArray<Uint8Array>) => Effect.Effect<void>
  /** No more payloads: what is left of the run is not sent; each lane stops once its send settled. Idempotent. */
  readonly end: () => void
  /** Ends the lanes (as {@link Lanes.end}) and waits until every one stopped. */
  readonly drain: Effect.Effect<void>
}

const EMPTY: ReadonlyArray<Uint8Array> = []

/**
 * Starts `size` lanes in the current scope. `send` is called once per payload, when a lane takes
 * it, and the lane takes its next payload once the returned Effect completed; it must not fail
 * (a send's errors are the caller's to count).
 */
export const make = (
  size: number,
  send: (payload: Uint8Array) => Effect.Effect<void>
): Effect.Effect<Lanes, never, Scope.Scope> =>
  Effect.gen(function* () {
    const fibers = yield* FiberSet.make<void>()
    let run = EMPTY
    let at = 0
    let ended = false
    // Lanes with nothing to take, each waiting for its own wake-up: a run wakes as many as it has
    // payloads, not every idle lane.
    const idle: Array<Deferred.Deferred<void>> = []
    // Completed when a lane takes the last payload of the run.
    let taken = Deferred.makeUnsafe<void>()

    const lane = Effect.gen(function* () {
      for (;;) {
        if (at < run.length) {
          const payload = run[at++]!
          if (at === run.length) Deferred.doneUnsafe(taken, Exit.void)
          yield* send(payload)
        } else if (ended) {
          return
        } else {
          const wake = Deferred.makeUnsafe<void>()
          idle.push(wake)
          yield* Deferred.await(wake)
        }
      }
    })
    for (let i = 0; i < size; i++) yield* FiberSet.run(fibers, lane)

    const wakeUp = (lanes: number) => {
      for (let i = 0; i < lanes && idle.length > 0; i++) Deferred.doneUnsafe(idle.pop()!, Exit.void)
    }
    const end = () => {
      ended = true
      run = EMPTY
      at = 0
      wakeUp(idle.length)
    }
    return {
      feed: (payloads) =>
        Effect.suspend(() => {
          if (ended || payloads.length === 0) return Effect.void
          run = payloads
          at = 0
          const done = Deferred.makeUnsafe<void>()
          taken = done
          wakeUp(payloads.length)
          // The lane that takes the last payload completes `done` before it runs that payload's
          // send, and so resumes this fiber first: yielding once lets the send start (its batch be
          // queued) before the input loop goes on, and at the end of the input closes the sender.
          return Effect.andThen(Deferred.await(done), Effect.yieldNow)
        }),
      end,
      drain: Effect.suspend(() => {
        end()
        return FiberSet.awaitEmpty(fibers)
      })
    }
  })
