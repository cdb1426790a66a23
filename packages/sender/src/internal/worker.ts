/**
 * A worker fiber: owns one persistent connection, takes up to `maxBatchesPerWrite` batches at a
 * time from the shared queue, writes them corked (one `writev`), honours `drain`, reads every
 * response, reconnects on the reconnect schedule and resends what a broken connection lost.
 *
 * Every batch a worker holds is, at every yield point, in exactly one place: `state.pending`
 * (taken, not yet written on the current connection), `state.transient` (answered "not ready",
 * its retry not yet scheduled), `state.delayed` (waiting for its transient retry),
 * `connection.unflushed` (untracked: written, write callback not yet fired) or
 * `connection.inflight` (tracked: written, not yet answered). A close that times out reads those
 * places to report what was not delivered.
 *
 * A connection is *tracked* when its peer answers every frame (acknowledged mode, or
 * fire-and-forget with `responses` `"every-frame"`, or `"auto"` until the peer proves silent):
 * answers are then matched to frames by position, and anything that breaks that matching (more
 * answers than frames, a "too large" answer) closes the connection as out of step.
 *
 * @module
 */
import type * as net from "node:net"
import { Frame, Response } from "@txlane/protocol"
import { type Cause, type Clock, Deferred, Duration, Effect, Exit, Latch, Pull, Queue, Result, Schedule } from "effect"
import { AckTimeout, Rejected, RetriesExhausted } from "../errors.js"
import { AUTO_SILENCE_MS, type ConnectionEvent, type Outcome, type Resolved } from "../Options.js"
import type { AckError, Batch, Counters } from "./batch.js"
import { Connection, connect } from "./connection.js"
import { releaseFrame } from "./framePool.js"
import { endSpan, spanWrite } from "./span.js"

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
  /** The sender's `Clock` (a `TestClock` in tests): every deadline is read from it. */
  readonly clock: Clock.Clock
  /** Monotonic milliseconds from {@link clock}: write times, deadlines, latency. */
  readonly now: () => number
  /** Whether the peer answers every frame; `undefined` while `responses: "auto"` has not learned it. */
  answering: boolean | undefined
  /** Tells the owner a worker's connection changed state (the `onConnectionEvent` option, the Promise facade's events). */
  readonly connectionEvent: (event: ConnectionEvent) => void
}

const NONE: Array<Batch> = []

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

  /** Waits for a wake-up, or `timeoutMs` of the `Clock` (when given). */
  wait(timeoutMs: number | undefined): Effect.Effect<void> {
    // Already woken: no fiber for the timeout race (the common case under load).
    if (this.latch.isOpen()) return Effect.void
    if (timeoutMs === undefined) return this.latch.await
    return Effect.asVoid(Effect.timeoutOption(this.latch.await, Math.max(1, Math.ceil(timeoutMs))))
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

const complete = (shared: Shared, batch: Batch, exit: Exit.Exit<number, AckError>): void => {
  // The span first: completing the Deferred may resume the sender's caller synchronously.
  if (batch.span !== undefined) endSpan(batch.span, shared.clock, exit)
  if (batch.done !== undefined) Deferred.doneUnsafe(batch.done, exit)
}

/**
 * Reports the outcome, then gives the batch's pooled frame back: nothing reads a settled batch's
 * bytes again. With an `onOutcome` callback the frame is kept (left to the garbage collector),
 * since the callback may hold on to `payload`.
 */
const tell = (shared: Shared, batch: Batch, status: Outcome["status"], error?: string): void => {
  const onOutcome = shared.options.onOutcome
  if (onOutcome !== undefined) onOutcome({ payload: batch.payload, transactions: batch.transactions, status, error })
  else if (batch.frame !== undefined) releaseFrame(batch.frame)
}

/** The peer accepted the batch (or, untracked, the kernel took it). */
export const settleDelivered = (shared: Shared, batch: Batch, count?: number): void => {
  shared.counters.delivered++
  complete(shared, batch, Exit.succeed(count ?? batch.transactions))
  tell(shared, batch, "delivered")
}

/** The peer's final verdict was no. */
const settleRejected = (shared: Shared, batch: Batch, error: string): void => {
  shared.counters.rejected++
  shared.warn("rejected", `${shared.options.name}: peer rejected a batch: ${error}`)
  complete(shared, batch, Exit.fail(new Rejected({ error })))
  tell(shared, batch, "rejected", error)
}

/** The sender gave up on the batch. */
const settleFailed = (shared: Shared, batch: Batch, error: AckTimeout | RetriesExhausted): void => {
  shared.counters.failed++
  complete(shared, batch, Exit.fail(error))
  tell(shared, batch, "failed", error.message)
}

/** The peer's answers no longer match our frames: drop the connection; `recover` resends the rest. */
const outOfStep = (shared: Shared, connection: Connection, reason: string): void => {
  shared.counters.outOfStep++
  connection.error ??= "out of step"
  shared.warn(
    "out-of-step",
    `${shared.options.name}: ${reason}; closing the connection and resending its unanswered batches`
  )
  connection.socket.destroy()
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
  const { counters } = shared
  const socket: net.Socket = connection.socket
  const batches = state.pending
  const tracked = connection.tracked
  const now = tracked ? shared.now() : 0
  const unknown = tracked && shared.answering === undefined
  let bytes = 0
  let transactions = 0
  socket.cork()
  for (let i = 0; i < n; i++) {
    const batch = batches[i]!
    batch.attempts++
    if (batch.span !== undefined) spanWrite(batch.span, shared.clock, batch.attempts)
    // One write per batch when it was encoded with its header (send), two otherwise (sendPayload).
    let body: Uint8Array
    if (batch.frame === undefined) {
      socket.write(batch.header!)
      body = batch.payload
    } else body = batch.frame
    if (tracked) {
      if (unknown) socket.write(body, connection.onFlushedUnknown)
      else socket.write(body)
      batch.sentAt = now
      connection.inflight.push(batch)
    } else {
      socket.write(body, connection.onFlushed)
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
    const now = shared.now()
    for (const frame of frames) {
      counters.responses++
      connection.answered++
      if (!connection.tracked) {
        if (connection.answered > connection.written) {
          outOfStep(shared, connection, `${connection.answered} answers for ${connection.written} frames`)
          return
        }
        counters.untrackedAnswers++
        shared.warn(
          "untracked",
          `${options.name}: the peer answers, but this connection's frames went out as to a silent peer; its answers settle nothing`
        )
        continue
      }
      shared.answering ??= true
      const batch = connection.inflight.shift()
      if (batch === undefined) {
        outOfStep(shared, connection, `an answer arrived with no frame waiting for one`)
        return
      }
      shared.recordLatency(now - batch.sentAt)
      const decoded = Response.decode(frame)
      if (Result.isFailure(decoded)) {
        counters.malformedResponses++
        settleRejected(shared, batch, decoded.failure.message)
        continue
      }
      const response = decoded.success
      if (response.success) {
        connection.probing = false
        counters.acknowledged++
        settleDelivered(shared, batch, response.count)
        continue
      }
      const error = response.error ?? "(no error text)"
      const kind = options.classifyError(error)
      if (kind === "transient") {
        counters.transientRejections++
        connection.sawTransient = true
        connection.probing = true
        batch.lastError = error
        state.transient.push(batch)
        shared.warn("transient", `${options.name}: peer not ready, retrying later: ${error}`)
        continue
      }
      settleRejected(shared, batch, error)
      if (kind === "out-of-step") {
        outOfStep(shared, connection, `the peer refused a frame as too large and reads the stream out of step`)
        return
      }
    }
    if (connection.tracked) state.wake()
  }

/** Schedules the retry of every batch answered as transient (runs in the worker fiber). */
const scheduleTransient = (shared: Shared, state: WorkerState): Effect.Effect<void> =>
  Effect.gen(function* () {
    const batches = state.transient
    state.transient = []
    for (const batch of batches) {
      batch.retryStep ??= yield* Schedule.toStep(shared.options.transientRetry)
      const delay = yield* batch.retryStep(shared.clock.currentTimeMillisUnsafe(), batch.lastError).pipe(
        Effect.map(([, duration]) => Duration.toMillis(duration)),
        Pull.catchDone(() => Effect.succeed(undefined))
      )
      if (delay === undefined) {
        settleRejected(shared, batch, `${batch.lastError} (still not ready after ${batch.attempts} attempts)`)
        continue
      }
      // The peer never judged it: the resend is not charged to the `retries` budget.
      batch.free++
      shared.counters.retries++
      batch.retryAt = shared.now() + delay
      state.holdUntil = Math.max(state.holdUntil, batch.retryAt)
      state.delayed.push(batch)
    }
  })

/** Moves the delayed batches whose retry time has come to the front of `pending`. */
const promote = (state: WorkerState, now: number): void => {
  if (state.delayed.length === 0) return
  const due: Array<Batch> = []
  const later: Array<Batch> = []
  for (const batch of state.delayed) (batch.retryAt <= now ? due : later).push(batch)
  if (due.length === 0) return
  state.delayed = later
  state.pending = state.pending.length === 0 ? due : due.concat(state.pending)
}

/** Resumes after the event loop's next I/O poll phase (`setImmediate` callbacks run after it). */
const afterIoPoll: Effect.Effect<void> = Effect.callback<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/** `responses: "auto"`: the peer left frames unanswered long enough; it is silent. */
const becomeSilent = (shared: Shared, connection: Connection, why: string): void => {
  connection.tracked = false
  if (shared.answering === undefined) {
    shared.answering = false
    shared.warn("silent", `${shared.options.name}: the peer ${why}; taking it as silent (responses "none") from now on`)
  }
  // Everything written has left the process (the caller checked `writableLength`).
  for (const batch of connection.inflight.splice(0)) settleDelivered(shared, batch)
}

/** Hands a dead connection's unsettled batches back to `pending` (first), within the retry budget. */
const recover = (shared: Shared, state: WorkerState, connection: Connection): void => {
  const { counters, options } = shared
  connection.recovered = true
  state.connection = undefined
  if (!connection.graceful) counters.connectionErrors++
  shared.connectionEvent({
    type: "disconnected",
    worker: state.id,
    endpoint: options.endpointText,
    error: connection.graceful ? undefined : (connection.error ?? "connection closed by the peer")
  })
  if (
    connection.tracked &&
    connection.error === undefined &&
    connection.answered === 0 &&
    shared.answering !== true &&
    !options.acknowledged
  ) {
    // `responses: "auto"`: the peer closed cleanly without answering a single frame, so it is
    // a silent peer; what reached the kernel before the close is delivered, as for one.
    const flushed = connection.inflight.splice(0, Math.min(connection.flushedUnknown, connection.inflight.length))
    const unflushed = connection.inflight.splice(0)
    becomeSilent(shared, connection, "closed the connection without answering")
    for (const batch of flushed) settleDelivered(shared, batch)
    connection.unflushed.push(...unflushed)
  }
  const lost = connection.tracked ? connection.inflight : connection.unflushed
  if (connection.tracked) counters.unanswered += lost.length
  if (lost.length === 0) return
  const again: Array<Batch> = []
  let gaveUp = 0
  for (const batch of lost) {
    if (connection.sawTransient) {
      // The peer closed after a "not ready" answer: these were never judged either.
      batch.free++
    } else if (batch.attempts - batch.free > options.retries) {
      gaveUp++
      if (connection.timedOut) counters.ackTimeouts++
      settleFailed(
        shared,
        batch,
        connection.timedOut
          ? new AckTimeout({ timeoutMs: options.ackTimeoutMs })
          : new RetriesExhausted({ attempts: batch.attempts })
      )
      continue
    }
    counters.retries++
    again.push(batch)
  }
  if (gaveUp > 0) {
    shared.warn("failed", `${options.name}: gave up on ${gaveUp} batch(es) after their retry budget`)
  }
  lost.length = 0
  state.pending = state.pending.length === 0 ? again : again.concat(state.pending)
}

/** Fails every held batch: the reconnect schedule gave up. */
const giveUp = (shared: Shared, state: WorkerState): void => {
  const held = state.pending.concat(state.delayed, state.transient)
  for (const batch of held) settleFailed(shared, batch, new RetriesExhausted({ attempts: batch.attempts }))
  shared.warn("giveup", `${shared.options.name}: reconnect schedule ended; failed ${held.length} batch(es)`)
  state.pending = NONE
  state.delayed = []
  state.transient = []
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
    // Milliseconds until the next thing the loop must notice by itself (no event will wake it):
    // the oldest frame's ack timeout, the auto-silence deadline, a transient hold or retry.
    const deadline = (now: number): number | undefined => {
      let at = Number.POSITIVE_INFINITY
      const oldest = connection.inflight[0]
      if (oldest !== undefined) {
        at = oldest.sentAt + options.ackTimeoutMs
        if (shared.answering !== true && connection.tracked) at = Math.min(at, oldest.sentAt + AUTO_SILENCE_MS)
      }
      if (state.holdUntil > now) at = Math.min(at, state.holdUntil)
      for (const batch of state.delayed) if (batch.retryAt < at) at = batch.retryAt
      return at === Number.POSITIVE_INFINITY ? undefined : at - now
    }
    while (true) {
      state.arm()
      // Not writable: destroyed, failed, or ended by the peer (whose FIN makes Node end our side).
      if (connection.closed || !connection.socket.writable) break
      if (state.transient.length > 0) {
        yield* scheduleTransient(shared, state)
        continue
      }
      const now = shared.now()
      const oldest = connection.inflight[0]
      if (oldest !== undefined) {
        if (now - oldest.sentAt >= options.ackTimeoutMs) {
          connection.timedOut = true
          connection.error ??= "ack timeout"
          shared.warn("timeout", `${options.name}: no response within ${options.ackTimeoutMs} ms; reconnecting`)
          connection.socket.destroy()
          break
        }
        // Another connection may have found the peer silent already; then this one needs no wait.
        if (
          !acknowledged &&
          connection.answered === 0 &&
          (shared.answering === false || (shared.answering === undefined && now - oldest.sentAt >= AUTO_SILENCE_MS)) &&
          connection.socket.writableLength === 0
        ) {
          // A busy event loop can leave the peer's answers unread past the deadline: let one
          // I/O poll phase run (setImmediate runs after it) before concluding anything.
          if (!connection.pollOnce) {
            connection.pollOnce = true
            yield* afterIoPoll
            continue
          }
          becomeSilent(shared, connection, `left frames unanswered for ${AUTO_SILENCE_MS} ms`)
          continue
        }
      }
      promote(state, now)
      // Backpressure: nothing more is written until the kernel has taken what Node buffered.
      // A transient answer holds every write until its retry: the peer is not ready.
      if (connection.socket.writableNeedDrain || now < state.holdUntil) {
        yield* state.wait(deadline(now))
        continue
      }
      const room = !connection.tracked
        ? K
        : connection.probing
          ? 1 - connection.inflight.length
          : Math.min(K, options.maxInFlight - connection.inflight.length)
      if (state.pending.length > 0) {
        if (room > 0) write(shared, state, connection, Math.min(room, state.pending.length))
        else yield* state.wait(deadline(now))
        continue
      }
      if (!state.queueDone) {
        if (room <= 0) {
          yield* state.wait(deadline(now))
          continue
        }
        if ((connection.inflight.length > 0 || state.delayed.length > 0) && Queue.sizeUnsafe(queue) === 0) {
          // Frames wait for answers or retries: wait for those (or a timeout) *or* a new batch,
          // since blocking in the queue would leave a broken connection or a deadline unnoticed.
          shared.idle.add(state)
          yield* state.wait(deadline(now))
          shared.idle.delete(state)
          continue
        }
        const taken = yield* take(shared, state, room)
        if (taken === undefined) state.queueDone = true
        else state.pending = taken
        continue
      }
      // The queue is done and nothing is pending: settle what is outstanding, then half-close.
      if (connection.inflight.length > 0 || connection.unflushed.length > 0 || state.delayed.length > 0) {
        yield* state.wait(deadline(now))
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
      // An answer read while half-closed can still be a "not ready": go round again for it.
      return state.transient.length === 0 && state.pending.length === 0
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
        options.maxResponseBytes,
        onFrames(shared, state),
        (batch) => settleDelivered(shared, batch),
        state.wake
      )
      connection.tracked = options.acknowledged || shared.answering !== false
      state.connection = connection
      return connection
    }
    const connectOnce = connect(options, makeConnection).pipe(
      Effect.tapError((error) =>
        Effect.sync(() => {
          counters.connectFailures++
          shared.warn("connect", `${options.name}: ${error.message}; retrying`)
          shared.connectionEvent({
            type: "connect-failed",
            worker: state.id,
            endpoint: options.endpointText,
            error: error.reason
          })
        })
      )
    )
    const connectWithRetry = Effect.retry(connectOnce, options.reconnect).pipe(Effect.result)
    // Never hold more than one connection can carry: the rest stays in the queue for other workers.
    const firstTake = Math.min(options.maxBatchesPerWrite, options.maxInFlight)
    while (true) {
      if (state.pending.length === 0 && state.delayed.length === 0 && state.transient.length === 0) {
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
      shared.connectionEvent({ type: "connected", worker: state.id, endpoint: options.endpointText, error: undefined })
      const finished = yield* session(shared, state, connection).pipe(
        Effect.onInterrupt(() => Effect.sync(() => connection.socket.destroy()))
      )
      if (finished) return
    }
  }).pipe(Effect.ensuring(Effect.sync(() => state.idleNow || state.markIdle())))
