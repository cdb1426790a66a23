/**
 * Handlers without fibers, used when no tracer is installed: for a `submit` given as a Promise
 * function (`createReceiver`), and for an Effect `submit` run on a fiber per frame
 * (`effectSubmit.ts`). Up to `handlers` frames are in `submit` at once, each settled in its
 * callbacks, and the ready queue is a plain array.
 *
 * Why: a handler fiber suspends once per frame on an async `submit`, and each suspension costs
 * effect's runtime and async-hook bookkeeping (bench/PROFILE.md: ~4 µs of the receiver's ~12 µs
 * per frame above a bare `node:net` receiver at 10k/s). The handler fibers (`handler.ts`) stay
 * for tracing, whose spans are effects.
 *
 * Same rules as the fibers: at most one job per connection in the queue (round-robin), streaks
 * of at most MAX_STREAK frames (`frameWork.ts`), a frame's `submit` called in the order its
 * connection's frames arrived.
 *
 * @module
 */
import type { Batch, SubmitResult, Validated } from "../Options.js"
import type { Core, Job } from "./connection.js"
import * as FrameWork from "./frameWork.js"

/** What an async `submit` returns: a Promise, or anything with a Promise's `then` (`effectSubmit.ts`). */
export interface Settling<A> {
  then(onSuccess: (value: A) => void, onFailure: (error: unknown) => void): unknown
}

/**
 * A `submit` as the handlers call it: the Promise API's function as given, or an Effect `submit`
 * run on a fiber per frame (`effectSubmit.ts`). It returns what settles later, or a plain value
 * for a synchronous one; a throw is a failed submit.
 */
export type DirectSubmit = (
  batch: Batch
  // biome-ignore lint/suspicious/noConfusingVoidType: an async submit that returns nothing must type-check (count defaults)
) => Settling<SubmitResult | undefined | void> | SubmitResult | undefined | void

/** The pool's side of the receiver: where jobs go, and how a close ends it. */
export interface DirectHandlers {
  /** Hands a job to the pool; it is started on a microtask, after the read that produced it. */
  readonly dispatch: (job: Job) => void
  /**
   * After a close deadline: nothing more is started, and submits that settle later are dropped
   * (their connections are destroyed), as interrupted handler fibers would.
   */
  readonly stop: () => void
}

/**
 * How long handlers may go on finishing frames synchronously (rejected frames, a synchronous
 * `submit`) before the rest waits for the next turn of the event loop. Without it a flood of
 * empty frames, 16,384 in every 64 KiB read, was handled in one go from the microtask after the
 * read, and a legitimate client's frame waited behind all of it (hostile/badflood: worst round
 * trip 759 and 1,907 ms; with this budget 40–58 ms in 5 runs, and 2 ms answered fewer frames).
 */
const TURN_BUDGET_MS = 5

/** Whether a `submit` returned a Promise (or any thenable) rather than a plain value. */
export const isPromiseLike = (value: unknown): value is Settling<unknown> =>
  typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function"

export const make = (
  core: Core,
  settings: Validated,
  submit: DirectSubmit,
  recordSubmit: (ms: number) => void
): DirectHandlers => {
  const stats = core.stats
  const unordered = core.settings.ordering === "none"
  // A FIFO with a moving head: `shift()` on a long array is linear, and the queue holds up to one
  // job per connection.
  let queue: Array<Job | undefined> = []
  let head = 0
  let idle = settings.handlers
  let scheduled = false
  let stopped = false
  // When this turn's handling began (-1: none yet), and the handlers whose next frame waits for
  // the next turn, with their streaks.
  let turnStartedAt = -1
  const deferred: Array<{ readonly job: Job; readonly streak: number }> = []
  const size = () => queue.length - head
  // Another connection than `conn` has a turn in the queue (at most one job each).
  const work = FrameWork.make(core, settings, recordSubmit, (conn) => size() > (conn.hasTurnQueued ? 1 : 0), false)

  const next = (): Job | undefined => {
    if (head === queue.length) return undefined
    const job = queue[head]
    // Taken jobs do not stay reachable from the array.
    queue[head++] = undefined
    if (head === queue.length) {
      queue = []
      head = 0
    }
    return job
  }

  // A failed `submit`'s answer (json) or undefined, reported as `SubmitFailed`.
  const failure = (error: unknown, job: Job): Buffer | undefined => {
    const { reason, error: reported } = FrameWork.reasonOf(error)
    return work.failed(reason, reported, job.conn.id)
  }

  // Runs frames until one's `submit` is pending (the handler stays busy until it settles) or
  // there is no frame to go on with (the handler is idle again). `handled`: frames taken on since
  // the last take from the queue.
  const serve = (first: Job | undefined, handled: number): void => {
    let job = first
    let streak = handled
    while (job !== undefined) {
      const started = performance.now()
      if (!inBudget(started)) {
        defer(job, streak)
        return
      }
      const keep = ++streak < FrameWork.MAX_STREAK
      stats.handlersBusy++
      const prepared = work.prepare(job)
      if (!FrameWork.isBatch(prepared)) {
        job = work.finish(job, prepared, keep, started)
        continue
      }
      let result: ReturnType<DirectSubmit>
      try {
        result = submit(prepared)
      } catch (error) {
        job = work.submitted(job, failure(error, job), keep, started)
        continue
      }
      if (!isPromiseLike(result)) {
        job = work.submitted(job, work.succeeded(prepared, result), keep, started)
        continue
      }
      const current = job
      const count = streak
      try {
        // Past a close deadline (`stop`) a settling submit is dropped, as an interrupted fiber's
        // would be: its connection is destroyed, and the close report counted it as interrupted.
        result.then(
          (value) => {
            if (!stopped) resume(work.submitted(current, work.succeeded(prepared, value), keep, started), count)
          },
          (error) => {
            if (!stopped) resume(work.submitted(current, failure(error, current), keep, started), count)
          }
        )
      } catch (error) {
        // A thenable whose `then` throws: answered as a failed submit.
        job = work.submitted(current, failure(error, current), keep, started)
        continue
      }
      return
    }
    idle++
  }

  // A pending `submit` settled: the handler goes on with what `finish` gave it, then takes from the queue.
  const resume = (following: Job | undefined, streak: number): void => {
    serve(following, streak)
    drain()
  }

  // Whether handling may go on in this turn; the first frame of a turn schedules the next one.
  const inBudget = (now: number): boolean => {
    if (turnStartedAt < 0) {
      turnStartedAt = now
      setImmediate(nextTurn)
    }
    return now - turnStartedAt < TURN_BUDGET_MS
  }
  // Runs in the check phase, after the poll phase has read and written: handling resumes there
  // with a new budget, the deferred handlers first.
  const nextTurn = (): void => {
    turnStartedAt = -1
    if (stopped) return
    for (const { job, streak } of deferred.splice(0)) serve(job, streak)
    drain()
  }
  // The handler stays busy (it is not idle) until its frame is taken on in the next turn.
  const defer = (job: Job, streak: number): void => {
    deferred.push({ job, streak })
  }

  const drain = (): void => {
    scheduled = false
    while (idle > 0 && !stopped) {
      if (turnStartedAt >= 0 && performance.now() - turnStartedAt >= TURN_BUDGET_MS) return
      const queued = next()
      if (queued === undefined) return
      idle--
      serve(unordered ? queued.conn.taken() : queued, 0)
    }
  }

  return {
    dispatch: (job) => {
      queue.push(job)
      if (!scheduled && idle > 0 && !stopped) {
        scheduled = true
        queueMicrotask(drain)
      }
    },
    stop: () => {
      stopped = true
    }
  }
}

// The Promise API marks the Effect `submit` it builds with the Promise function it wraps, so the
// receiver can call that function directly (`submitOf`).
const PromiseSubmit = Symbol.for("@txlane/receiver/PromiseSubmit")

/** `effectSubmit`, marked as a wrapper of `promiseSubmit`. */
export const marked = <F extends object>(effectSubmit: F, promiseSubmit: DirectSubmit): F =>
  Object.assign(effectSubmit, { [PromiseSubmit]: promiseSubmit })

/** The Promise function behind a `submit` made by {@link marked}, if it is one. */
export const submitOf = (submit: object): DirectSubmit | undefined =>
  (submit as { readonly [PromiseSubmit]?: DirectSubmit })[PromiseSubmit]
