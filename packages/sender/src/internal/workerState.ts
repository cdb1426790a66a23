/**
 * What a worker holds and what the workers of one sender share: the state that the worker loop
 * (worker.ts) and the answer handling (answers.ts) change, and that the sender's `close` and
 * `stats` read at any time. Kept apart from the loop so those readers depend on the state alone.
 *
 * Every batch a worker holds is, at every yield point, in exactly one place: `state.pending`
 * (taken, not yet written on the current connection), `state.transient` (answered "not ready",
 * its retry not yet scheduled), `state.delayed` (waiting for its transient retry),
 * `connection.unflushed` (untracked: written, write callback not yet fired) or
 * `connection.inflight` (tracked: written, not yet answered). A close that times out reads those
 * places to report what was not delivered.
 *
 * @module
 */
import { type Cause, type Clock, Effect, type Fiber, Latch, type Queue } from "effect"
import type { ConnectionEvent, Resolved } from "../Options.js"
import type { Batch, Counters } from "./batch.js"
import type { Connection } from "./connection.js"

/** What the workers of one sender share. */
export interface Shared {
  readonly options: Resolved
  readonly queue: Queue.Queue<Batch, Cause.Done>
  readonly counters: Counters
  /** Acknowledged mode: workers waiting for a response or a new batch, woken by `send`. */
  readonly idle: Set<WorkerState>
  /** Every worker of the sender (a worker whose connection broke hands its batches to the others). */
  readonly workers: ReadonlyArray<WorkerState>
  /** Records one acknowledgement latency, in milliseconds. */
  readonly recordLatency: (ms: number) => void
  /** Logs a warning, rate-limited per key so a misbehaving peer cannot flood the log. */
  readonly warn: (key: string, message: string) => void
  /** The sender's `Clock` (a `TestClock` in tests): every deadline is read from it. */
  readonly clock: Clock.Clock
  /** Monotonic milliseconds from {@link clock}: write times, deadlines, latency. */
  readonly now: () => number
  /** Whether the peer answers every frame; `undefined` while `responses: "auto"` has not learned it. */
  answering: boolean | undefined
  /** Tells the owner a worker's connection changed state (the `onConnectionEvent` option, the Promise facade's events). */
  readonly connectionEvent: (event: ConnectionEvent) => void
}

/** The empty `pending`: shared, so emptying it allocates nothing. */
export const NONE: Array<Batch> = []

/** The per-worker state (readable by `close` and `stats` at any time). */
export class WorkerState {
  /** Taken batches not yet written on the current connection, oldest first; resent first. */
  pending: Array<Batch> = NONE
  /** Batches answered as transient whose retry the worker fiber has not scheduled yet. */
  transient: Array<Batch> = []
  /** Batches waiting for their transient retry (`retryAt`). */
  delayed: Array<Batch> = []
  /** After a transient answer: nothing is written before this `now()` (the peer is not ready). */
  holdUntil = 0
  /** The current connection, if any. */
  connection: Connection | undefined = undefined
  /** The queue has ended and is empty: finish what is held, then stop. */
  queueDone = false
  /** The last connection was closed by the peer before it answered anything (see `recover`). */
  refused = false
  private connectedBefore = false
  // Busy-time accounting: a worker is idle only while it waits for the queue.
  private readonly startedAt: number
  private busyMs = 0
  private busySince: number
  // A worker with nothing to do is idle, from its start until its first batch.
  idleNow = true
  // The wake-up latch: events open it, the worker closes it (`arm`) before checking the
  // conditions a wait depends on, so a wake-up between that check and the wait is never lost.
  private readonly latch = Latch.makeUnsafe(false)

  constructor(
    readonly id: number,
    /** Monotonic milliseconds (the sender's `Clock`). */
    readonly now: () => number
  ) {
    this.startedAt = now()
    this.busySince = this.startedAt
  }

  /** Wakes the worker if it waits in {@link wait}; otherwise makes its next wait return at once. */
  readonly wake = (): void => {
    this.latch.openUnsafe()
  }

  /** Closes the latch before the conditions a following {@link wait} depends on are checked. */
  arm(): void {
    this.latch.closeUnsafe()
  }

  /**
   * Waits for a wake-up, or until `timeoutMs` of the `Clock` have passed (when given). It may
   * also return earlier (a timer armed for an earlier deadline): callers re-check everything.
   */
  wait(timeoutMs: number | undefined): Effect.Effect<void> {
    // Already woken: nothing to wait for (the common case under load).
    if (this.latch.isOpen()) return Effect.void
    if (timeoutMs === undefined) return this.latch.await
    const at = this.now() + Math.max(1, Math.ceil(timeoutMs))
    // A timer due no later already wakes us in time.
    if (this.timerAt <= at) return this.latch.await
    return Effect.andThen(this.armTimer(at), this.latch.await)
  }

  // The deadline timer: one sleeping child fiber per worker, which opens the latch when due. A
  // race of the latch against a sleep per wait forked two fibers and set a timer for every wait,
  // twice per acknowledged batch at moderate rates; this one is re-armed only when a deadline
  // comes earlier than the armed one, and most deadlines (the oldest frame's ack timeout) only
  // move later.
  private timerAt = Number.POSITIVE_INFINITY
  private timer: Fiber.Fiber<void> | undefined = undefined

  private armTimer(at: number): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.timer?.interruptUnsafe()
      this.timerAt = at
      return Effect.forkChild(
        Effect.sleep(Math.max(1, Math.ceil(at - this.now()))).pipe(
          Effect.andThen(
            Effect.sync(() => {
              // Unless a re-arm replaced it in the meantime.
              if (this.timerAt === at) {
                this.timerAt = Number.POSITIVE_INFINITY
                this.timer = undefined
              }
              this.latch.openUnsafe()
            })
          )
        )
      )
    }).pipe(
      Effect.flatMap((fiber) =>
        Effect.sync(() => {
          this.timer = fiber
        })
      )
    )
  }

  /** Batches held by this worker right now. */
  get held(): number {
    const c = this.connection
    return (
      this.pending.length +
      this.transient.length +
      this.delayed.length +
      (c === undefined ? 0 : c.unflushed.length + c.inflight.length)
    )
  }

  /** Fraction of its life this worker spent not waiting for the queue. */
  busyRatio(now: number): number {
    const life = now - this.startedAt
    if (life <= 0) return 0
    return Math.min(1, (this.busyMs + (this.idleNow ? 0 : now - this.busySince)) / life)
  }

  /** @internal */
  markIdle(): void {
    this.busyMs += this.now() - this.busySince
    this.idleNow = true
  }

  /** @internal */
  markBusy(): void {
    this.busySince = this.now()
    this.idleNow = false
  }

  /** @internal Counts a connect as a reconnect after the first. */
  connected(counters: Counters): void {
    counters.connects++
    if (this.connectedBefore) counters.reconnects++
    this.connectedBefore = true
  }
}
