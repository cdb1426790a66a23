/**
 * What a handler does with one frame, whether it runs as a fiber (`handler.ts`) or from Promise
 * callbacks (`directHandlers.ts`): check it (empty, envelope), count its outcome, build its
 * response, and hand it back to its connection.
 *
 * Bad frames take the cheap path: an empty frame costs a counter and a preallocated response;
 * errors built from wire input carry no stack trace (`noStack.ts`). A client that sends nothing
 * but bad frames therefore costs about as much per frame as one that sends good ones.
 *
 * @module
 */
import { Envelope, Response } from "@txlane/protocol"
import { Cause, Result } from "effect"
import { EmptyFrame, type InputError, SubmitFailed } from "../errors.js"
import { type Batch, isInt, type SubmitResult, type Validated } from "../Options.js"
import type { Core, Job } from "./connection.js"
import { withoutStack } from "./noStack.js"
import * as Responses from "./responses.js"

/** Frames a handler takes on in a row from one connection before returning to the shared queue. */
export const MAX_STREAK = 16

/** The frame work shared by both kinds of handler. */
export interface FrameWork {
  /**
   * Decodes and checks one frame: the batch to submit, or the frame's answer (json) / undefined
   * (none) when it was rejected. Why it was rejected is in `rejection` until the next call, if
   * made with `keepRejection` (for a span's error status).
   */
  readonly prepare: (job: Job) => Batch | Buffer | undefined
  /** The InputError behind the last rejected frame (only with `keepRejection`). */
  rejection: InputError | undefined
  /** Counts a settled `submit` and returns its answer (json) or undefined. */
  // biome-ignore lint/suspicious/noConfusingVoidType: mirrors the submit option's result type
  readonly succeeded: (batch: Batch, value: SubmitResult | undefined | void) => Buffer | undefined
  /** Reports a failed `submit` and returns its answer (json) or undefined. */
  readonly failed: (reason: string, error: unknown, connectionId: number) => Buffer | undefined
  /**
   * Ends a frame: counters, the response, and the connection's next frame if this handler goes
   * on with it at once (else undefined).
   */
  readonly finish: (job: Job, response: Buffer | undefined, keep: boolean, started: number) => Job | undefined
  /** {@link finish} for a frame whose `submit` settled: its time in `submit` is recorded first. */
  readonly submitted: (job: Job, response: Buffer | undefined, keep: boolean, started: number) => Job | undefined
}

/** What `prepare` returns for a frame to submit (else the frame was rejected: its answer or none). */
export const isBatch = (prepared: Batch | Buffer | undefined): prepared is Batch =>
  prepared !== undefined && !(prepared instanceof Uint8Array)

/**
 * A failure's text and the error to report, for whatever a `submit` failed with: a Promise's
 * rejection, a throw, or an Effect's failure `Cause` (interrupted, or its squashed error).
 */
export const reasonOf = (error: unknown): { reason: string; error: unknown } => {
  if (Cause.isCause(error)) {
    return Cause.hasInterruptsOnly(error) ? { reason: "interrupted", error } : reasonOf(Cause.squash(error))
  }
  if (error instanceof Error) return { reason: error.message, error }
  if (typeof error === "object" && error !== null && "message" in error && typeof error.message === "string") {
    return { reason: error.message, error }
  }
  return { reason: String(error), error }
}

const emptyFrame = (length: number) => () => new EmptyFrame({ length })

// The count a successful `submit` reported; one that cannot be read (a throwing getter, a proxy)
// is treated as a bad one (the count defaults), not as a reason to lose the frame's answer.
// biome-ignore lint/suspicious/noConfusingVoidType: mirrors the submit option's result type
const countOf = (value: SubmitResult | undefined | void): unknown => {
  try {
    return value?.count
  } catch {
    return undefined
  }
}

/**
 * `othersWaiting(conn)`: another connection than `conn` has a turn in the shared queue (ordering
 * "none": at most one job per connection is there, standing for its earliest waiting frame; see
 * `Connection.taken`). `keepRejection`: frames get spans, which need the reason of a rejection.
 */
export const make = (
  core: Core,
  settings: Validated,
  recordSubmit: (ms: number) => void,
  othersWaiting: (conn: Job["conn"]) => boolean,
  keepRejection: boolean
): FrameWork => {
  const stats = core.stats
  const respondJson = settings.respond === "json"
  const rawPayload = settings.payload === "raw"
  const unordered = settings.ordering === "none"

  const work: FrameWork = {
    rejection: undefined,
    prepare: (job) => {
      const payload = job.payload
      if (payload.length === 0) {
        core.reportCheap("EmptyFrame", emptyFrame(0), job.conn.id)
        if (keepRejection) work.rejection = new EmptyFrame({ length: 0 })
        return respondJson ? Responses.empty : undefined
      }
      let transactions: ReadonlyArray<Uint8Array>
      if (rawPayload) {
        transactions = [payload]
      } else {
        const ahead = job.decoded
        const decoded = ahead ?? withoutStack(() => Envelope.decode(payload))
        if (ahead !== undefined && Result.isSuccess(ahead)) stats.transactionsDecodedAhead -= ahead.success.length
        if (Result.isFailure(decoded)) {
          core.report(decoded.failure, job.conn.id)
          if (keepRejection) work.rejection = decoded.failure
          return respondJson ? Responses.failure(Response.ErrorText.invalid(decoded.failure.message)) : undefined
        }
        transactions = decoded.success
        if (transactions.length === 0) {
          core.reportCheap("EmptyFrame", emptyFrame(payload.length), job.conn.id)
          if (keepRejection) work.rejection = new EmptyFrame({ length: payload.length })
          return respondJson ? Responses.empty : undefined
        }
      }
      stats.transactionsReceived += transactions.length
      return { transactions, payload, connectionId: job.conn.id }
    },
    succeeded: (batch, value) => {
      const reported = countOf(value)
      const count = isInt(reported, 0) ? reported : batch.transactions.length
      stats.framesSubmitted++
      stats.transactionsAccepted += count
      return respondJson ? Responses.success(count) : undefined
    },
    failed: (reason, error, connectionId) => {
      core.report(new SubmitFailed({ reason, cause: error }), connectionId)
      return respondJson ? Responses.failure(Response.ErrorText.submitFailed(reason)) : undefined
    },
    // A handler that finishes a frame goes straight on with the same connection's next frame
    // (per-connection ordering made it eligible only now) instead of handing it through the
    // shared queue: that hand-off — an offer, a take and a wake-up per frame — was the receiver's
    // largest cost above the raw decoder in profiles. After MAX_STREAK frames in a row the next
    // one goes back to the shared queue, so one busy connection cannot keep a handler from the
    // others. With ordering "none" a handler goes on only while no other connection has a turn in
    // the shared queue: its own connection's frames are not held back by this (another handler
    // may take that connection's turn meanwhile), and round-robin between connections stays strict.
    finish: (job, response, keep, started) => {
      stats.handlersBusy--
      stats.handlerBusyMs += performance.now() - started
      return job.conn.complete(job, response, keep && !(unordered && othersWaiting(job.conn)))
    },
    submitted: (job, response, keep, started) => {
      recordSubmit(performance.now() - started)
      return work.finish(job, response, keep, started)
    }
  }
  return work
}
