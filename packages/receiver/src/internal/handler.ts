/**
 * The handler fibers: each takes a decoded frame, checks it (empty, envelope), calls the
 * application's `submit`, and hands the response back to the frame's connection.
 *
 * Bad frames take the cheap path: an empty frame costs a counter and a preallocated response;
 * errors built from wire input carry no stack trace (`noStack.ts`). A client that sends nothing
 * but bad frames therefore costs about as much per frame as one that sends good ones, and its
 * frames wait their turn like anyone's (at most one job per connection in the ready queue with
 * either ordering: round-robin between connections).
 *
 * @module
 */
import { Envelope, Response } from "@txlane/protocol"
import { Cause, Effect, Exit, Pull, Queue, Result, type Tracer } from "effect"
import { EmptyFrame, type InputError, SubmitFailed } from "../errors.js"
import { type Batch, isInt, type Options, type SubmitResult, type Validated } from "../Options.js"
import type { Core, Job } from "./connection.js"
import type * as Metrics from "./metrics.js"
import { withoutStack } from "./noStack.js"
import * as Responses from "./responses.js"
import * as Tracing from "./tracing.js"

/** Frames a handler takes on in a row from one connection before returning to the shared queue. */
const MAX_STREAK = 16

const reasonOf = (cause: Cause.Cause<unknown>): { reason: string; error: unknown } => {
  if (Cause.hasInterruptsOnly(cause)) return { reason: "interrupted", error: cause }
  const error = Cause.squash(cause)
  if (error instanceof Error) return { reason: error.message, error }
  if (typeof error === "object" && error !== null && "message" in error && typeof error.message === "string") {
    return { reason: error.message, error }
  }
  return { reason: String(error), error }
}

const emptyFrame = (length: number) => () => new EmptyFrame({ length })

/**
 * One handler fiber's loop; ends when `ready` is ended and drained. `destination` (the listen
 * address) names the frames' spans, made only when a tracer is installed (`tracing.ts`).
 */
export const make = <E>(
  core: Core,
  settings: Validated,
  submit: Options<E>["submit"],
  ready: Queue.Dequeue<Job, Cause.Done>,
  metrics: Metrics.Registered,
  destination: string
): Effect.Effect<void> => {
  const stats = core.stats
  const respondJson = settings.respond === "json"
  const rawPayload = settings.payload === "raw"
  const unordered = settings.ordering === "none"
  // Another connection than `conn` has a turn in the shared queue (ordering "none": at most one
  // job per connection is there, standing for its earliest waiting frame; see Connection.taken).
  const othersWaiting = (conn: Job["conn"]): boolean => Queue.sizeUnsafe(ready) > (conn.hasTurnQueued ? 1 : 0)
  // Why `prepare` rejected the frame it was just given (for its span's error status); set only
  // when traced, and read right after `prepare` returns.
  let traced = false
  let rejected: InputError | undefined

  // Decodes and checks one frame: the batch to submit, or the answer (json) / undefined (none).
  const prepare = (job: Job): Batch | Buffer | undefined => {
    const payload = job.payload
    if (payload.length === 0) {
      core.reportCheap("EmptyFrame", emptyFrame(0), job.conn.id)
      if (traced) rejected = new EmptyFrame({ length: 0 })
      return respondJson ? Responses.empty : undefined
    }
    let transactions: ReadonlyArray<Uint8Array>
    if (rawPayload) {
      transactions = [payload]
    } else {
      const decoded = withoutStack(() => Envelope.decode(payload))
      if (Result.isFailure(decoded)) {
        core.report(decoded.failure, job.conn.id)
        if (traced) rejected = decoded.failure
        return respondJson ? Responses.failure(Response.ErrorText.invalid(decoded.failure.message)) : undefined
      }
      transactions = decoded.success
      if (transactions.length === 0) {
        core.reportCheap("EmptyFrame", emptyFrame(payload.length), job.conn.id)
        if (traced) rejected = new EmptyFrame({ length: payload.length })
        return respondJson ? Responses.empty : undefined
      }
    }
    stats.transactionsReceived += transactions.length
    return { transactions, payload, connectionId: job.conn.id }
  }

  const settle = (
    batch: Batch,
    // biome-ignore lint/suspicious/noConfusingVoidType: mirrors the submit option's result type
    exit: Exit.Exit<SubmitResult | undefined | void, E>,
    connectionId: number
  ): Buffer | undefined => {
    if (Exit.isSuccess(exit)) {
      const reported = exit.value?.count
      const count = isInt(reported, 0) ? reported : batch.transactions.length
      stats.framesSubmitted++
      stats.transactionsAccepted += count
      return respondJson ? Responses.success(count) : undefined
    }
    const { reason, error } = reasonOf(exit.cause)
    core.report(new SubmitFailed({ reason, cause: error }), connectionId)
    return respondJson ? Responses.failure(Response.ErrorText.submitFailed(reason)) : undefined
  }

  // A handler that finishes a frame goes straight on with the same connection's next frame
  // (per-connection ordering made it eligible only now) instead of handing it through the
  // shared queue: that hand-off — an offer, a take and a fiber wake-up per frame — was the
  // receiver's largest cost above the raw decoder in profiles. After MAX_STREAK frames in a row
  // the next one goes back to the shared queue, so one busy connection cannot keep a handler
  // from the others. With ordering "none" a handler goes on only while no other connection has
  // a turn in the shared queue: its own connection's frames are not held back by this (another
  // handler may take that connection's turn meanwhile), and round-robin between connections
  // stays strict.
  return Effect.gen(function* () {
    traced = yield* Tracing.enabled
    let job: Job | undefined
    let streak = 0
    while (true) {
      if (job === undefined) {
        const queued = yield* Queue.take(ready)
        job = unordered ? queued.conn.taken() : queued
        streak = 0
        if (job === undefined) continue
      }
      const started = performance.now()
      stats.handlersBusy++
      let span: Tracer.Span | undefined
      if (traced) span = yield* Tracing.start(destination, job.payload.length, job.conn.id)
      const prepared = prepare(job)
      // Taken at once: `rejected` is shared by the handler fibers made from this effect.
      const rejection = rejected
      rejected = undefined
      let response: Buffer | undefined
      // biome-ignore lint/suspicious/noConfusingVoidType: mirrors the submit option's result type
      let exit: Exit.Exit<SubmitResult | undefined | void, unknown> | undefined
      if (prepared === undefined || prepared instanceof Uint8Array) {
        response = prepared
      } else {
        const run = Effect.suspend(() => submit(prepared))
        exit = yield* Effect.exit(span === undefined ? run : Effect.withParentSpan(run, span))
        metrics.recordSubmit(performance.now() - started)
        response = settle(prepared, exit as Exit.Exit<SubmitResult | undefined, E>, job.conn.id)
      }
      stats.handlersBusy--
      stats.handlerBusyMs += performance.now() - started
      const next = job.conn.complete(job, response, ++streak < MAX_STREAK && !(unordered && othersWaiting(job.conn)))
      if (span !== undefined) {
        if (prepared !== undefined && !(prepared instanceof Uint8Array)) {
          span.attribute("messaging.batch.message_count", prepared.transactions.length)
        }
        yield* Tracing.end(span, exit ?? (rejection === undefined ? Exit.void : Exit.fail(rejection)))
      }
      job = next
    }
  }).pipe(Pull.catchDone(() => Effect.void))
}
