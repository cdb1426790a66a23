/**
 * The handler fibers: each takes a decoded frame off the shared ready queue, checks it, runs the
 * application's Effect `submit`, and hands the response back to the frame's connection
 * (`frameWork.ts`). Used when frames get spans (a tracer is installed: the spans are effects);
 * otherwise submits run without handler fibers (`directHandlers.ts`).
 *
 * Frames wait their turn like anyone's: at most one job per connection is in the ready queue
 * with either ordering, so the service is round-robin between connections.
 *
 * @module
 */
import { type Cause, Effect, Exit, Pull, Queue } from "effect"
import type { Batch, Options, SubmitResult } from "../Options.js"
import type { Core, Job } from "./connection.js"
import * as FrameWork from "./frameWork.js"
import * as Tracing from "./tracing.js"

/**
 * One handler fiber's loop; ends when `ready` is ended and drained. `destination` (the listen
 * address) names the frames' spans, made when `traced` (a tracer is installed: `tracing.ts`).
 */
export const make = <E>(
  core: Core,
  submit: Options<E>["submit"],
  ready: Queue.Dequeue<Job, Cause.Done>,
  work: FrameWork.FrameWork,
  destination: string,
  traced: boolean
): Effect.Effect<void> => {
  const stats = core.stats
  const unordered = core.settings.ordering === "none"

  const settle = (
    job: Job,
    batch: Batch,
    // biome-ignore lint/suspicious/noConfusingVoidType: mirrors the submit option's result type
    exit: Exit.Exit<SubmitResult | undefined | void, E>,
    keep: boolean,
    started: number
  ): Job | undefined => {
    let response: Buffer | undefined
    if (Exit.isSuccess(exit)) {
      response = work.succeeded(batch, exit.value)
    } else {
      const { reason, error } = FrameWork.reasonOf(exit.cause)
      response = work.failed(reason, error, job.conn.id)
    }
    return work.submitted(job, response, keep, started)
  }

  // A frame with a span around it (a tracer is installed): the span is ended after `complete`.
  const handleTraced = (job: Job, keep: boolean, started: number): Effect.Effect<Job | undefined> =>
    Effect.flatMap(Tracing.start(destination, job.payload.length, job.conn.id), (span) => {
      const prepared = work.prepare(job)
      // Taken at once: `work` is shared by the handler fibers.
      const rejection = work.rejection
      work.rejection = undefined
      if (!FrameWork.isBatch(prepared)) {
        const next = work.finish(job, prepared, keep, started)
        return Effect.as(Tracing.end(span, rejection === undefined ? Exit.void : Exit.fail(rejection)), next)
      }
      const run = Effect.withParentSpan(
        Effect.suspend(() => submit(prepared)),
        span
      )
      return Effect.flatMap(Effect.exit(run), (exit) => {
        const next = settle(job, prepared, exit, keep, started)
        span.attribute("messaging.batch.message_count", prepared.transactions.length)
        return Effect.as(Tracing.end(span, exit), next)
      })
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
      const keep = ++streak < FrameWork.MAX_STREAK
      const started = performance.now()
      stats.handlersBusy++
      if (traced) return Effect.flatMap(handleTraced(job, keep, started), (next) => serve(next, streak))
      const prepared = work.prepare(job)
      if (FrameWork.isBatch(prepared)) {
        const current = job
        return Effect.flatMap(Effect.exit(Effect.suspend(() => submit(prepared))), (exit) =>
          serve(settle(current, prepared, exit, keep, started), streak)
        )
      }
      job = work.finish(job, prepared, keep, started)
    }
    return Effect.flatMap(Queue.take(ready), (queued) => serve(unordered ? queued.conn.taken() : queued, 0))
  }

  return serve(undefined, 0).pipe(Pull.catchDone(() => Effect.void))
}
