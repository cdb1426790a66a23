/**
 * A worker fiber: owns one persistent connection, takes up to `maxBatchesPerWrite` batches at a
 * time from the shared queue, writes them corked (one `writev`), honours `drain`, reads every
 * response, reconnects on the reconnect schedule and resends what a broken connection lost.
 *
 * Every batch a worker holds is, at every yield point, in exactly one place: `state.pending`
 * (taken, not yet written on the current connection), `connection.unflushed` (fire-and-forget,
 * written, write callback not yet fired) or `connection.inflight` (acknowledged, written, not
 * yet answered). A close that times out reads those three places to report what was not delivered.
 *
 * @module
 */
import type * as net from "node:net"
import { Frame, Response } from "@txlane/protocol"
import { type Cause, Deferred, Effect, Exit, Pull, Queue, Result } from "effect"
import { AckTimeout, Rejected, RetriesExhausted } from "../errors.js"
import type { Resolved } from "../Options.js"
import type { AckError, Batch, Counters } from "./batch.js"
import { Connection, connect } from "./connection.js"

/** What the workers of one sender share. */
export interface Shared {
  readonly options: Resolved
  readonly queue: Queue.Queue<Batch, Cause.Done>
  readonly counters: Counters
  /** Acknowledged mode: workers waiting for a response or a new batch, woken by `send`. */
  readonly idle: Set<WorkerState>
  /** Records one acknowledgement latency, in milliseconds. */
  readonly recordLatency: (ms: number) => void
  /** Logs a warning, rate-limited per key so a misbehaving peer cannot flood the log. */
  readonly warn: (key: string, message: string) => void
}

const NONE: Array<Batch> = []
const WAKE = Effect.void

/** The per-worker state (readable by `close` and `stats` at any time). */
export class WorkerState {
  /** Taken batches not yet written on the current connection, oldest first; resent first. */
  pending: Array<Batch> = NONE
  /** The current connection, if any. */
  connection: Connection | undefined = undefined
  /** The queue has ended and is empty: finish what is held, then stop. */
  queueDone = false
  private connectedBefore = false
  // Busy-time accounting: a worker is idle only while it waits for the queue.
  private readonly startedAt = performance.now()
  private busyMs = 0
  private busySince = performance.now()
  // A worker with nothing to do is idle, from its start until its first batch.
  idleNow = true
  // The wake-up latch: events set `signaled` when no one waits, so a wake-up between a
  // condition check and the wait is never lost.
  private resume: ((effect: Effect.Effect<void>) => void) | undefined = undefined
  private timer: ReturnType<typeof setTimeout> | undefined = undefined
  private signaled = false

  constructor(readonly id: number) {}

  /** Wakes the worker if it waits in {@link wait}; otherwise makes its next wait return at once. */
  readonly wake = (): void => {
    const resume = this.resume
    if (resume === undefined) {
      this.signaled = true
      return
    }
    this.resume = undefined
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    resume(WAKE)
  }

  /** Clears the latch before the conditions a following {@link wait} depends on are checked. */
  arm(): void {
    this.signaled = false
  }

  /** Waits for a wake-up, or `timeoutMs` (when given). */
  wait(timeoutMs: number | undefined): Effect.Effect<void> {
    return Effect.callback<void>((resume) => {
      if (this.signaled) {
        this.signaled = false
        resume(WAKE)
        return
      }
      this.resume = resume
      if (timeoutMs !== undefined) this.timer = setTimeout(this.wake, Math.max(1, Math.ceil(timeoutMs)))
      return Effect.sync(() => {
        this.resume = undefined
        if (this.timer !== undefined) clearTimeout(this.timer)
        this.timer = undefined
      })
    })
  }

  /** Batches held by this worker right now. */
  get held(): number {
    const c = this.connection
    return this.pending.length + (c === undefined ? 0 : c.unflushed.length + c.inflight.length)
  }

  /** Fraction of its life this worker spent not waiting for the queue. */
  busyRatio(now: number): number {
    const life = now - this.startedAt
    if (life <= 0) return 0
    return Math.min(1, (this.busyMs + (this.idleNow ? 0 : now - this.busySince)) / life)
  }

  /** @internal */
  markIdle(): void {
    this.busyMs += performance.now() - this.busySince
    this.idleNow = true
  }

  /** @internal */
  markBusy(): void {
    this.busySince = performance.now()
    this.idleNow = false
  }

  /** @internal Counts a connect as a reconnect after the first. */
  connected(counters: Counters): void {
    counters.connects++
    if (this.connectedBefore) counters.reconnects++
    this.connectedBefore = true
  }
}

const complete = (batch: Batch, exit: Exit.Exit<number, AckError>): void => {
  if (batch.done !== undefined) Deferred.doneUnsafe(batch.done, exit)
}

/** Takes 1 to `max` batches, waiting for the first; `undefined` once the queue has ended and is empty. */
const take = (shared: Shared, state: WorkerState, max: number): Effect.Effect<Array<Batch> | undefined> => {
  // Fast path: batches are waiting, so there is nothing to account as idle time.
  if (Queue.sizeUnsafe(shared.queue) > 0) {
    if (state.idleNow) state.markBusy()
    return takeNow(shared, max)
  }
  state.markIdle()
  return takeNow(shared, max).pipe(Effect.ensuring(Effect.sync(() => state.markBusy())))
}

const takeNow = (shared: Shared, max: number): Effect.Effect<Array<Batch> | undefined> =>
  Queue.takeBetween(shared.queue, 1, max).pipe(Pull.catchDone(() => Effect.succeed(undefined)))

/** Writes the first `n` pending batches in one corked write. */
const write = (shared: Shared, state: WorkerState, connection: Connection, n: number): void => {
  const { counters, options } = shared
  const socket: net.Socket = connection.socket
  const batches = state.pending
  const acknowledged = options.acknowledged
  const now = acknowledged ? performance.now() : 0
  let bytes = 0
  let transactions = 0
  socket.cork()
  for (let i = 0; i < n; i++) {
    const batch = batches[i]!
    batch.attempts++
    socket.write(batch.header)
    if (acknowledged) {
      socket.write(batch.payload)
      batch.sentAt = now
      connection.inflight.push(batch)
    } else {
      socket.write(batch.payload, connection.onFlushed)
      connection.unflushed.push(batch)
    }
    bytes += Frame.HEADER_BYTES + batch.payload.length
    transactions += batch.transactions
  }
  socket.uncork()
  connection.written += n
  counters.batchesSent += n
  counters.bytesSent += bytes
  counters.transactionsSent += transactions
  state.pending = n === batches.length ? NONE : batches.slice(n)
}

/** Handles the response frames of one chunk (installed as every connection's `OnFrames`). */
export const onFrames =
  (shared: Shared, state: WorkerState) =>
  (connection: Connection, frames: ReadonlyArray<Uint8Array>): void => {
    const { counters, options } = shared
    const now = options.acknowledged ? performance.now() : 0
    for (const frame of frames) {
      counters.responses++
      connection.answered++
      const decoded = Response.decode(frame)
      let ok = false
      let count: number | undefined
      let errorText = ""
      if (Result.isFailure(decoded)) {
        counters.malformedResponses++
        counters.rejected++
        errorText = decoded.failure.message
      } else if (decoded.success.success) {
        counters.acknowledged++
        ok = true
        count = decoded.success.count
      } else {
        counters.rejected++
        errorText = decoded.success.error ?? "(no error text)"
      }
      if (!ok) shared.warn("rejected", `${options.name}: peer rejected a batch: ${errorText}`)
      if (options.acknowledged) {
        const batch = connection.inflight.shift()
        if (batch === undefined) {
          // More responses than requests: the peer is not speaking the protocol; drop it.
          shared.warn("unexpected", `${options.name}: response without a request; closing the connection`)
          connection.error ??= "unexpected response"
          connection.socket.destroy()
          return
        }
        shared.recordLatency(now - batch.sentAt)
        if (ok) {
          counters.delivered++
          complete(batch, Exit.succeed(count ?? batch.transactions))
        } else {
          complete(batch, Exit.fail(new Rejected({ error: errorText })))
        }
      }
    }
    if (options.acknowledged) state.wake()
  }

/** Hands a dead connection's unsettled batches back to `pending` (first), within the retry budget. */
const recover = (shared: Shared, state: WorkerState, connection: Connection): void => {
  const { counters, options } = shared
  connection.recovered = true
  state.connection = undefined
  counters.unanswered += Math.max(0, connection.written - connection.answered)
  if (!connection.graceful) counters.connectionErrors++
  const lost = options.acknowledged ? connection.inflight : connection.unflushed
  if (lost.length === 0) return
  const again: Array<Batch> = []
  for (const batch of lost) {
    if (batch.attempts > options.retries) {
      counters.failed++
      if (connection.timedOut) counters.ackTimeouts++
      complete(
        batch,
        Exit.fail(
          connection.timedOut
            ? new AckTimeout({ timeoutMs: options.ackTimeoutMs })
            : new RetriesExhausted({ attempts: batch.attempts })
        )
      )
    } else {
      counters.retries++
      again.push(batch)
    }
  }
  if (again.length < lost.length) {
    shared.warn(
      "failed",
      `${options.name}: gave up on ${lost.length - again.length} batch(es) after their retry budget`
    )
  }
  lost.length = 0
  state.pending = state.pending.length === 0 ? again : again.concat(state.pending)
}

/** Fails every held batch: the reconnect schedule gave up. */
const giveUp = (shared: Shared, state: WorkerState): void => {
  const { counters } = shared
  for (const batch of state.pending) {
    counters.failed++
    complete(batch, Exit.fail(new RetriesExhausted({ attempts: batch.attempts })))
  }
  shared.warn("giveup", `${shared.options.name}: reconnect schedule ended; failed ${state.pending.length} batch(es)`)
  state.pending = NONE
}

/**
 * Runs one connection until it breaks (`false`) or the worker has finished all its work and
 * the peer has seen EOF (`true`).
 */
const session = (shared: Shared, state: WorkerState, connection: Connection): Effect.Effect<boolean> =>
  Effect.gen(function* () {
    const { options, queue } = shared
    const acknowledged = options.acknowledged
    const K = options.maxBatchesPerWrite
    // Time left before the oldest unanswered frame times out (acknowledged mode), else undefined.
    const ackDeadline = (): number | undefined => {
      const oldest = connection.inflight[0]
      return oldest === undefined ? undefined : oldest.sentAt + options.ackTimeoutMs - performance.now()
    }
    while (true) {
      state.arm()
      // Not writable: destroyed, failed, or ended by the peer (whose FIN makes Node end our side).
      if (connection.closed || !connection.socket.writable) break
      if (acknowledged) {
        const left = ackDeadline()
        if (left !== undefined && left <= 0) {
          connection.timedOut = true
          connection.error ??= "ack timeout"
          shared.warn("timeout", `${options.name}: no response within ${options.ackTimeoutMs} ms; reconnecting`)
          connection.socket.destroy()
          break
        }
      }
      // Backpressure: nothing more is written until the kernel has taken what Node buffered.
      if (connection.socket.writableNeedDrain) {
        yield* state.wait(ackDeadline())
        continue
      }
      const room = acknowledged ? Math.min(K, options.maxInFlight - connection.inflight.length) : K
      if (state.pending.length > 0) {
        if (room > 0) write(shared, state, connection, Math.min(room, state.pending.length))
        else yield* state.wait(ackDeadline())
        continue
      }
      if (!state.queueDone) {
        if (room <= 0) {
          yield* state.wait(ackDeadline())
          continue
        }
        if (acknowledged && connection.inflight.length > 0 && Queue.sizeUnsafe(queue) === 0) {
          // Frames are in flight: wait for their responses (or timeout) *or* a new batch, since
          // blocking in the queue would leave a broken connection or a timeout unnoticed.
          shared.idle.add(state)
          yield* state.wait(ackDeadline())
          shared.idle.delete(state)
          continue
        }
        const taken = yield* take(shared, state, room)
        if (taken === undefined) state.queueDone = true
        else state.pending = taken
        continue
      }
      // The queue is done and nothing is pending: settle what is outstanding, then half-close.
      if (connection.inflight.length > 0 || connection.unflushed.length > 0) {
        yield* state.wait(ackDeadline())
        continue
      }
      connection.graceful = true
      // Half-close and read until the peer's EOF, so it has read (and answered) every frame.
      connection.socket.end()
      while (!connection.closed) {
        state.arm()
        if (connection.closed) break
        yield* state.wait(undefined)
      }
      recover(shared, state, connection)
      return true
    }
    recover(shared, state, connection)
    return false
  })

/** The worker loop: lazy connect, sessions, reconnects; returns when the queue is drained. */
export const run = (shared: Shared, state: WorkerState): Effect.Effect<void> =>
  Effect.gen(function* () {
    const { options, counters } = shared
    const makeConnection = (socket: net.Socket): Connection => {
      const connection = new Connection(
        socket,
        Frame.DEFAULT_MAX_FRAME_BYTES,
        onFrames(shared, state),
        () => counters.delivered++,
        state.wake
      )
      state.connection = connection
      return connection
    }
    const connectOnce = connect(options, makeConnection).pipe(
      Effect.tapError((error) =>
        Effect.sync(() => {
          counters.connectFailures++
          shared.warn("connect", `${options.name}: ${error.message}; retrying`)
        })
      )
    )
    const connectWithRetry = Effect.retry(connectOnce, options.reconnect).pipe(Effect.result)
    // Never hold more than one connection can carry: the rest stays in the queue for other workers.
    const firstTake = options.acknowledged
      ? Math.min(options.maxBatchesPerWrite, options.maxInFlight)
      : options.maxBatchesPerWrite
    while (true) {
      if (state.pending.length === 0) {
        if (state.queueDone) return
        // Lazy connect: a connection is opened only once there is something to send on it.
        const taken = yield* take(shared, state, firstTake)
        if (taken === undefined) {
          state.queueDone = true
          return
        }
        state.pending = taken
      }
      const connected = yield* connectWithRetry
      if (Result.isFailure(connected)) {
        giveUp(shared, state)
        continue
      }
      const connection = connected.success
      state.connected(counters)
      const finished = yield* session(shared, state, connection).pipe(
        Effect.onInterrupt(() => Effect.sync(() => connection.socket.destroy()))
      )
      if (finished) return
    }
  }).pipe(Effect.ensuring(Effect.sync(() => state.idleNow || state.markIdle())))
