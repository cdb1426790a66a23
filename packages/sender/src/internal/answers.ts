/**
 * What the peer's answers mean: each answer matched to its frame, "not ready" answers turned into
 * scheduled retries, answers that no longer match closing the connection, and (`responses:
 * "auto"`) the peer found silent when it answers nothing. Kept out of the worker loop, which only
 * decides when to write and wait: `onFrames` runs on the connection's data events, the rest in
 * the worker fiber.
 *
 * A connection is *tracked* when its peer answers every frame (acknowledged mode, or
 * fire-and-forget with `responses` `"every-frame"`, or `"auto"` until the peer proves silent):
 * answers are then matched to frames by position, and anything that breaks that matching (more
 * answers than frames, a "too large" answer) closes the connection as out of step.
 *
 * @module
 */
import { Response } from "@txlane/protocol"
import { Duration, Effect, Pull, Result, Schedule } from "effect"
import type { Batch } from "./batch.js"
import type { Connection } from "./connection.js"
import { settleDelivered, settleRejected } from "./outcome.js"
import type { Shared, WorkerState } from "./workerState.js"

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
export const scheduleTransient = (shared: Shared, state: WorkerState): Effect.Effect<void> =>
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
export const promote = (state: WorkerState, now: number): void => {
  if (state.delayed.length === 0) return
  const due: Array<Batch> = []
  const later: Array<Batch> = []
  for (const batch of state.delayed) (batch.retryAt <= now ? due : later).push(batch)
  if (due.length === 0) return
  state.delayed = later
  state.pending = state.pending.length === 0 ? due : due.concat(state.pending)
}

/** `responses: "auto"`: the peer left frames unanswered long enough; it is silent. */
export const becomeSilent = (shared: Shared, connection: Connection, why: string): void => {
  connection.tracked = false
  if (shared.answering === undefined) {
    shared.answering = false
    shared.warn("silent", `${shared.options.name}: the peer ${why}; taking it as silent (responses "none") from now on`)
  }
  // Everything written has left the process (the caller checked `writableLength`).
  for (const batch of connection.inflight.splice(0)) settleDelivered(shared, batch)
}
