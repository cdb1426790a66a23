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
import { Cause, Effect, Exit, Pull, Queue, Result } from "effect"
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

  // What `prepare` returns for a frame to submit (else the frame was rejected: its answer or none).
  const isBatch = (prepared: Batch | Buffer | undefined): prepared is Batch =>
    prepared !== undefined && !(prepared instanceof Uint8Array)

  // Ends a frame: counters, the response, and the connection's next frame if this handler goes on
  // with it at once (else undefined).
  //
  // A handler that finishes a frame goes straight on with the same connection's next frame
  // (per-connection ordering made it eligible only now) instead of handing it through the
  // shared queue: that hand-off — an offer, a take and a fiber wake-up per frame — was the
  // receiver's largest cost above the raw decoder in profiles. After MAX_STREAK frames in a row
  // the next one goes back to the shared queue, so one busy connection cannot keep a handler
  // from the others. With ordering "none" a handler goes on only while no other connection has
  // a turn in the shared queue: its own connection's frames are not held back by this (another
  // handler may take that connection's turn meanwhile), and round-robin between connections
  // stays strict.
  const finish = (job: Job, response: Buffer | undefined, keep: boolean, started: number): Job | undefined => {
    stats.handlersBusy--
    stats.handlerBusyMs += performance.now() - started
    return job.conn.complete(job, response, keep && !(unordered && othersWaiting(job.conn)))
  }

  // A frame with a span around it (a tracer is installed): the span is ended after `complete`.
  const handleTraced = (job: Job, keep: boolean, started: number): Effect.Effect<Job | undefined> =>
    Effect.flatMap(Tracing.start(destination, job.payload.length, job.conn.id), (span) => {
      const prepared = prepare(job)
      // Taken at once: `rejected` is shared by the handler fibers made from this effect.
      const rejection = rejected
      rejected = undefined
      if (!isBatch(prepared)) {
        const next = finish(job, prepared, keep, started)
        return Effect.as(Tracing.end(span, rejection === undefined ? Exit.void : Exit.fail(rejection)), next)
      }
      const run = Effect.withParentSpan(
        Effect.suspend(() => submit(prepared)),
        span
      )
      return Effect.flatMap(Effect.exit(run), (exit) => {
        metrics.recordSubmit(performance.now() - started)
        const next = finish(job, settle(prepared, exit, job.conn.id), keep, started)
        span.attribute("messaging.batch.message_count", prepared.transactions.length)
        return Effect.as(Tracing.end(span, exit), next)
      })
    })

  // A checked frame's `submit`, until it settles.
  const submitted = (job: Job, batch: Batch, keep: boolean, started: number): Effect.Effect<Job | undefined> =>
    Effect.map(Effect.exit(Effect.suspend(() => submit(batch))), (exit) => {
      metrics.recordSubmit(performance.now() - started)
      return finish(job, settle(batch, exit, job.conn.id), keep, started)
    })

  // The loop is built from combinators, not a generator: a generator keeps its registers across a
  // suspension, so a handler waiting on the queue kept its last frame reachable (the `submit`
  // effect, and through it the batch, its transaction views and the frame's buffer: a socket read,
  // or an assembled frame of up to `maxFrameBytes`) until its next frame. That was up to
  // `handlers` frames of memory outside the `maxBufferedBytes` budget, 160 MiB with the defaults
  // and 10 MiB frames (test: "once a frame is answered, nothing of the receiver keeps its memory").
  // Frames rejected before `submit` (empty, malformed) are finished in the plain loop below, with
  // no effect each: a flood of them costs a counter and a cached answer per frame (hostile/badflood).
  // `handled`: frames this handler took on since its last take from the queue.
  const serve = (first: Job | undefined, handled: number): Effect.Effect<void, Cause.Done> => {
    let job = first
    let streak = handled
    while (job !== undefined) {
      const keep = ++streak < MAX_STREAK
      const started = performance.now()
      stats.handlersBusy++
      if (traced) return Effect.flatMap(handleTraced(job, keep, started), (next) => serve(next, streak))
      const prepared = prepare(job)
      if (isBatch(prepared)) {
        return Effect.flatMap(submitted(job, prepared, keep, started), (next) => serve(next, streak))
      }
      job = finish(job, prepared, keep, started)
    }
    return Effect.flatMap(Queue.take(ready), (queued) => serve(unordered ? queued.conn.taken() : queued, 0))
  }

  return Effect.flatMap(Tracing.enabled, (enabled) => {
    traced = enabled
    return serve(undefined, 0)
  }).pipe(Pull.catchDone(() => Effect.void))
}
