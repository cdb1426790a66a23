/**
 * A worker fiber: owns one persistent connection, takes up to `maxBatchesPerWrite` batches at a
 * time from the shared queue, writes them corked (one `writev`), honours `drain`, reads every
 * response, reconnects on the reconnect schedule and resends what a broken connection lost.
 *
 * This module is the loop: when to connect, take, write, wait and reconnect. The state it works
 * on (and where each batch is) is in workerState.ts, what an answer means in answers.ts, how a
 * batch ends in outcome.ts.
 *
 * @module
 */
import type * as net from "node:net"
import { Frame } from "@txlane/protocol"
import { Effect, Pull, Queue, Result, Schedule } from "effect"
import { AckTimeout, ConnectFailed, RetriesExhausted } from "../errors.js"
import { AUTO_SILENCE_MS } from "../Options.js"
import { becomeSilent, onFrames, promote, scheduleTransient } from "./answers.js"
import type { Batch } from "./batch.js"
import { Connection, connect } from "./connection.js"
import { settleDelivered, settleFailed } from "./outcome.js"
import { spanWrite } from "./span.js"
import { NONE, type Shared, type WorkerState } from "./workerState.js"

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

/**
 * Takes up to `max` batches into `state.pending`, or marks the queue done. The batches never pass
 * through the worker loops' generators: a generator keeps its registers across a suspension, so
 * `const taken = yield* take(…)` kept a worker's last batches, and their payloads, reachable while
 * it waited for more, long after they were delivered (up to `maxBatchesPerWrite` per worker,
 * outside the `queueCapacity` bound).
 */
const takeInto = (shared: Shared, state: WorkerState, max: number): Effect.Effect<void> =>
  Effect.map(take(shared, state, max), (taken) => {
    if (taken === undefined) state.queueDone = true
    else state.pending = taken
  })

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

/** Resumes after the event loop's next I/O poll phase (`setImmediate` callbacks run after it). */
const afterIoPoll: Effect.Effect<void> = Effect.callback<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

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
  // `responses: "auto"` learns silence only from a frame left unanswered on an open connection
  // (`session`). A close without any answer is not silence: a receiver at its connection limit
  // accepts and closes at once, and over TCP our frame can even reach the kernel after its FIN.
  // Taking that as silence made later frames "delivered" unread; resending them is at most a
  // duplicate. But once the peer was found silent (on another connection) a clean close (a FIN:
  // no socket error) is that peer leaving, and these frames are a silent peer's, delivered once
  // flushed, even if this connection's loop had not seen it yet: a receiver that exits once it
  // has everything closed such connections, and their probes were resent to nobody. A reset
  // (ECONNRESET: the peer closed with our frames unread) still resends them.
  if (connection.tracked && shared.answering === false && !options.acknowledged && connection.error === undefined) {
    const flushed = connection.inflight.splice(0, Math.min(connection.flushedUnknown, connection.inflight.length))
    const unflushed = connection.inflight.splice(0)
    becomeSilent(shared, connection, "was found silent")
    for (const batch of flushed) settleDelivered(shared, batch)
    connection.unflushed.push(...unflushed)
  }
  // The peer closed a connection before answering on it (untracked: before a frame was written):
  // it refuses this worker, as a receiver at its connection limit accepts and closes at once.
  // `run` then waits on the reconnect schedule before the next connect.
  state.refused = !connection.graceful && !connection.timedOut && !connection.stood
  const lost = connection.tracked ? connection.inflight : connection.unflushed
  if (connection.tracked) counters.unanswered += lost.length
  if (lost.length === 0) return
  // Refused while another connection stands: the peer is up and serves that one, and closed
  // this one without answering. Charging that to the batch let it fail once a few refused
  // workers had each taken it for their first connect (they connect with a batch in hand).
  const refusedWhileServed = state.refused && standsElsewhere(shared, state)
  const again: Array<Batch> = []
  let gaveUp = 0
  for (const batch of lost) {
    if (connection.sawTransient || refusedWhileServed) {
      // The peer closed after a "not ready" answer, or refused the connection: these were
      // never judged either.
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

/** Whether another worker's connection stands: open, and the peer has answered on it (untracked: it has carried frames). */
const standsElsewhere = (shared: Shared, state: WorkerState): boolean => {
  for (const other of shared.workers) {
    const c = other.connection
    if (other !== state && c !== undefined && !c.closed && c.stood) return true
  }
  return false
}

/**
 * After its connection broke, a worker hands what it holds unsent back to the shared queue while
 * another worker's connection stands: that worker sends them now, instead of them waiting for
 * this worker's reconnect, and a batch is not bounced on connections the peer keeps refusing
 * until its retry budget is spent. When the queue is full it waits for room (one batch at a time,
 * so a close that interrupts the wait finds each batch in exactly one place): this worker could
 * only bounce them meanwhile. Once the queue has ended (a close), or no other connection stands,
 * the rest stay here. Batches go to the back of the queue: the sender keeps no order across
 * workers.
 */
const handBack = (shared: Shared, state: WorkerState): Effect.Effect<void> =>
  Effect.gen(function* () {
    while (state.pending.length > 0 && standsElsewhere(shared, state)) {
      if (!(yield* Queue.offer(shared.queue, state.pending[0]!))) return
      state.pending = state.pending.length === 1 ? NONE : state.pending.slice(1)
      // Workers waiting for answers with an empty queue wait in `state.wait`, not in the queue. A
      // woken worker can run at once, inside `wake`, and join `idle` again: iterating the live set
      // would then wake it forever, so the set is emptied first.
      const idle = [...shared.idle]
      shared.idle.clear()
      for (const other of idle) other.wake()
    }
  })

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
        yield* takeInto(shared, state, room)
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
    // Not connected yet, a worker holds one batch: the rest stays in the queue for workers that
    // are. It takes more once its connection is up (`session`). With a full write's worth, a
    // worker that could not connect (the path gone, the peer refusing) kept up to
    // `maxBatchesPerWrite` batches waiting through its reconnect schedule, while connected
    // workers sat idle.
    const firstTake = 1
    let refusals: ((refused: ConnectFailed) => Pull.Pull<unknown, never, unknown>) | undefined
    while (true) {
      if (state.pending.length === 0 && state.delayed.length === 0 && state.transient.length === 0) {
        if (state.queueDone) return
        // Lazy connect: a connection is opened only once there is something to send on it.
        yield* takeInto(shared, state, firstTake)
        if (state.queueDone) return
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
      yield* handBack(shared, state)
      if (!state.refused) {
        refusals = undefined
        continue
      }
      // A refused connection is a failed connect: wait as the reconnect schedule says, on one
      // schedule per run of refusals (a reconnect at once bounced a batch per attempt).
      refusals ??= yield* Schedule.toStepWithSleep(options.reconnect)
      const again = yield* refusals(
        new ConnectFailed({ endpoint: options.endpointText, reason: "closed by the peer before answering" })
      ).pipe(
        Effect.as(true),
        Pull.catchDone(() => Effect.succeed(false))
      )
      if (!again) {
        refusals = undefined
        giveUp(shared, state)
      }
    }
  }).pipe(Effect.ensuring(Effect.sync(() => state.idleNow || state.markIdle())))
