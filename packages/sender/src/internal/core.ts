/**
 * The sender's engine, shared by the Effect service and the Promise facade: the bounded queue,
 * the overflow policies, the workers' lifecycle, the graceful close and the report.
 *
 * `submit` is synchronous and allocation-light on purpose: in fire-and-forget mode a batch
 * that fits in the queue costs its header and one `Batch` object, and no Effect is run, so
 * the Promise facade can hand back one shared resolved promise.
 *
 * @module
 */
import { Frame } from "@txlane/protocol"
import { LogThrottle } from "@txlane/protocol/internal"
import {
  type Cause,
  Clock,
  Context,
  Deferred,
  Effect,
  Exit,
  Fiber,
  FiberSet,
  Option,
  Queue,
  Result,
  type Scope,
  type Tracer
} from "effect"
import { type FrameTooLarge, type MakeError, QueueFull, type SendError, SenderClosed } from "../errors.js"
import { type ConnectionEvent, type Options, type Resolved, resolve } from "../Options.js"
import type { CloseReport, Stats, UndeliveredBatch } from "../Stats.js"
import { type AckError, Batch, Counters, complete, type Settle } from "./batch.js"
import { releaseFrame } from "./framePool.js"
import { LatencyHistogram, register } from "./metrics.js"
import { endSpan, startSpan, tracerOf } from "./span.js"
import { run } from "./worker.js"
import { type Shared, WorkerState } from "./workerState.js"

/** The outcome of {@link SenderCore.submit}: done (`undefined`), an error now, or an Effect to run. */
export type Submitted =
  | undefined
  | FrameTooLarge
  | QueueFull
  | SenderClosed
  | Effect.Effect<number | undefined, SendError>

const closedError = (): SenderClosed => new SenderClosed()
const exitClosed: Exit.Exit<never, AckError> = Exit.fail(new SenderClosed())

/** One sender instance. */
export class SenderCore implements Shared {
  readonly counters = new Counters()
  readonly idle = new Set<WorkerState>()
  readonly latency = new LatencyHistogram()
  readonly recordLatency = this.latency.recordMs
  readonly workers: Array<WorkerState>
  fibers: Array<Fiber.Fiber<void>> = []
  /** Set when `close` begins: `submit` refuses from then on. */
  closing = false
  answering: boolean | undefined
  private report: Deferred.Deferred<CloseReport> | undefined = undefined
  private readonly throttle = new LogThrottle()
  /** The sender's `Clock`, from the context it was made in (a `TestClock` in tests). */
  readonly clock: Clock.Clock
  /** The tracer of the context it was made in, when one was provided: batches then get spans. */
  readonly tracer: Tracer.Tracer | undefined
  /** Runs a log line; `makeCore` replaces it with a runner owned by the sender's scope. */
  runLog: (effect: Effect.Effect<void>) => unknown = (effect) => Effect.runForkWith(this.context)(effect)
  /** This sender's series only, in the Prometheus text format (set by `makeCore`). */
  metrics: () => string = () => ""

  constructor(
    readonly options: Resolved,
    readonly queue: Queue.Queue<Batch, Cause.Done>,
    readonly context: Context.Context<never>
  ) {
    this.clock = Context.get(context, Clock.Clock)
    this.tracer = tracerOf(context)
    this.workers = Array.from({ length: options.workers }, (_, id) => new WorkerState(id, this.now))
    this.answering =
      options.acknowledged || options.responses === "every-frame"
        ? true
        : options.responses === "none"
          ? false
          : undefined
  }

  /** Monotonic milliseconds of the sender's `Clock` (`performance.now()` with the live clock). */
  readonly now = (): number => Number(this.clock.monotonicTimeNanosUnsafe()) / 1e6

  /** At most one warning per key per second (a reconnect loop must not flood the log). */
  readonly warn = (key: string, message: string): void => {
    const text = this.throttle.admit(key, message)
    if (text !== undefined) this.runLog(Effect.logWarning(text))
  }

  /** Passes a connection state change to `onConnectionEvent`; a throwing callback is ignored. */
  readonly connectionEvent = (event: ConnectionEvent): void => {
    const listener = this.options.onConnectionEvent
    if (listener === undefined) return
    try {
      listener(event)
    } catch {
      // A host's callback must not take a worker down.
    }
  }

  /**
   * Validates and enqueues one payload. Never waits: when waiting is needed (the `"suspend"`
   * policy on a full queue, or an acknowledgement) the returned Effect does it. With `settle`
   * (acknowledged mode), the acknowledgement is told to it instead, and the returned Effect, if
   * any, only waits for room in the queue.
   */
  submit(
    payload: Uint8Array,
    transactions: number,
    onQueued?: () => void,
    frame?: Uint8Array,
    settle?: Settle
  ): Submitted {
    if (this.closing) return closedError()
    const tooLarge = Frame.checkLength(payload.length, this.options.maxFrameBytes)
    if (tooLarge !== undefined) return tooLarge
    const acknowledged = this.options.acknowledged
    // Awaited by the returned Effect unless the caller takes the outcome through `settle`.
    const deferred = acknowledged && settle === undefined ? Deferred.makeUnsafe<number, AckError>() : undefined
    const batch = new Batch(payload, transactions, acknowledged ? (settle ?? deferred) : undefined, frame)
    if (Queue.offerUnsafe(this.queue, batch)) {
      this.counters.accepted++
      if (this.tracer !== undefined) this.trace(batch)
      if (this.idle.size > 0) this.wakeIdle()
      return deferred === undefined ? undefined : Deferred.await(deferred)
    }
    switch (this.options.overflow) {
      case "fail":
        this.counters.queueFull++
        return this.refused(batch, new QueueFull({ capacity: this.options.queueCapacity }))
      case "drop":
        this.counters.dropped++
        return this.refused(batch, acknowledged ? new QueueFull({ capacity: this.options.queueCapacity }) : undefined)
      case "suspend":
        return Effect.flatMap(Queue.offer(this.queue, batch), (queued) => {
          if (!queued) return Effect.fail(closedError())
          // Tells an aborting caller that the batch got in (the Promise facade's AbortError.accepted).
          onQueued?.()
          this.counters.accepted++
          // The span starts once the batch is queued: an abandoned wait for room leaves none open.
          if (this.tracer !== undefined) this.trace(batch)
          if (this.idle.size > 0) this.wakeIdle()
          return deferred === undefined ? Effect.undefined : Deferred.await(deferred)
        })
    }
  }

  /** Opens the batch's `txlane.send` span (only called with a tracer). */
  private trace(batch: Batch): void {
    batch.span = startSpan(
      this.tracer!,
      this.clock,
      this.options.endpointText,
      batch.payload.length,
      batch.transactions
    )
  }

  /** A batch the full queue did not take: its frame goes back to the pool; with a tracer, its span opens and ends at once. */
  private refused<E extends QueueFull | undefined>(batch: Batch, error: E): E {
    if (batch.frame !== undefined) releaseFrame(batch.frame)
    if (this.tracer !== undefined) {
      this.trace(batch)
      endSpan(batch.span!, this.clock, Exit.fail(error ?? { _tag: "Dropped" }))
    }
    return error
  }

  private wakeIdle(): void {
    for (const worker of this.idle) {
      this.idle.delete(worker)
      worker.wake()
      return
    }
  }

  /** A synchronous snapshot of the counters. */
  stats(): Stats {
    const c = this.counters
    const now = this.now()
    return {
      queued: Queue.sizeUnsafe(this.queue),
      queueCapacity: this.options.queueCapacity,
      inFlight: this.inFlight(),
      accepted: c.accepted,
      batchesSent: c.batchesSent,
      transactionsSent: c.transactionsSent,
      bytesSent: c.bytesSent,
      delivered: c.delivered,
      responses: c.responses,
      acknowledged: c.acknowledged,
      rejected: c.rejected,
      malformedResponses: c.malformedResponses,
      dropped: c.dropped,
      queueFull: c.queueFull,
      retries: c.retries,
      failed: c.failed,
      unanswered: c.unanswered,
      transientRejections: c.transientRejections,
      outOfStep: c.outOfStep,
      untrackedAnswers: c.untrackedAnswers,
      connects: c.connects,
      reconnects: c.reconnects,
      connectFailures: c.connectFailures,
      connectionErrors: c.connectionErrors,
      workerBusy: this.workers.map((w) => w.busyRatio(now)),
      closed: this.closing
    }
  }

  /** Batches held by workers right now. */
  inFlight(): number {
    let n = 0
    for (const w of this.workers) n += w.held
    return n
  }

  /**
   * Graceful close: refuse new batches, let the workers drain the queue and settle what they
   * hold, and after `timeoutMs` stop them and list what was not delivered. Idempotent: later
   * calls wait for the first one and return the same report.
   */
  close(timeoutMs: number): Effect.Effect<CloseReport> {
    if (this.report !== undefined) return Deferred.await(this.report)
    const report = Deferred.makeUnsafe<CloseReport>()
    this.report = report
    this.closing = true
    const self = this
    return Effect.gen(function* () {
      const started = self.now()
      // Ending (not shutting down) the queue lets workers take what is buffered, including the
      // batches of `send`s already suspended on a full queue, and then see the end.
      yield* Queue.end(self.queue)
      const finished = Option.isSome(yield* Effect.timeoutOption(Fiber.awaitAll(self.fibers), timeoutMs))
      if (!finished) yield* Fiber.interruptAll(self.fibers)
      const undelivered: Array<UndeliveredBatch> = []
      // A batch waiting in the queue or in a worker was written before, on a connection that
      // broke, when it has attempts: the peer may have it, so it is not listed as never sent.
      const written: UndeliveredBatch["state"] =
        self.options.acknowledged || self.answering !== false ? "unacknowledged" : "unconfirmed"
      const giveBack = (batch: Batch, state: UndeliveredBatch["state"]) => {
        if (batch.attempts > 0 && (state === "queued" || state === "unsent")) state = written
        undelivered.push({ payload: batch.payload, transactions: batch.transactions, state })
        if (batch.span !== undefined) endSpan(batch.span, self.clock, exitClosed)
        if (batch.done !== undefined) complete(batch.done, exitClosed)
      }
      for (const worker of self.workers) {
        const connection = worker.connection
        for (const batch of worker.pending) giveBack(batch, "unsent")
        for (const batch of worker.transient) giveBack(batch, "retrying")
        for (const batch of worker.delayed) giveBack(batch, "retrying")
        if (connection !== undefined && !connection.recovered) {
          connection.recovered = true
          connection.socket.destroy()
          for (const batch of connection.unflushed) giveBack(batch, "unconfirmed")
          // Written and never answered: the peer may or may not have them.
          self.counters.unanswered += connection.inflight.length
          for (const batch of connection.inflight) giveBack(batch, "unacknowledged")
        }
      }
      // Clearing releases suspended offers into the queue, so repeat until nothing is left.
      for (;;) {
        const rest = yield* Queue.clear(self.queue)
        if (rest.length === 0) break
        for (const batch of rest) giveBack(batch, "queued")
      }
      yield* Queue.shutdown(self.queue)
      const c = self.counters
      const result: CloseReport = {
        accepted: c.accepted,
        delivered: c.delivered,
        acknowledged: c.acknowledged,
        rejected: c.rejected,
        dropped: c.dropped,
        failed: c.failed,
        retries: c.retries,
        unanswered: c.unanswered,
        transientRejections: c.transientRejections,
        outOfStep: c.outOfStep,
        undelivered,
        timedOut: !finished,
        durationMs: self.now() - started
      }
      Deferred.doneUnsafe(report, Exit.succeed(result))
      return result
    }).pipe(Effect.uninterruptible)
  }
}

/**
 * Builds a core in the current scope: validates the options, starts the workers and registers
 * the metrics. Closing the scope closes the sender gracefully (with `closeTimeout`).
 */
export const makeCore = (options: Options): Effect.Effect<SenderCore, MakeError, Scope.Scope> =>
  Effect.gen(function* () {
    const resolved = resolve(options)
    if (Result.isFailure(resolved)) return yield* Effect.fail(resolved.failure)
    const opts = resolved.success
    const context = yield* Effect.context<never>()
    const queue = yield* Queue.bounded<Batch, Cause.Done>(opts.queueCapacity)
    const core = new SenderCore(opts, queue, context)
    // Warnings run as fibers of the sender's scope, not as unowned ones.
    core.runLog = yield* FiberSet.makeRuntime<never, void, never>()
    core.fibers = yield* Effect.forEach(core.workers, (state) =>
      Effect.forkScoped(
        run(core, state).pipe(
          Effect.catchCause((cause) =>
            Effect.logError(
              `${opts.name}: worker ${state.id} stopped unexpectedly; its batches are reported at close`,
              cause
            )
          )
        )
      )
    )
    const metrics = register(context, {
      name: opts.name,
      counters: core.counters,
      latency: core.latency,
      queueDepth: () => Queue.sizeUnsafe(queue),
      queueCapacity: opts.queueCapacity,
      inFlight: () => core.inFlight(),
      workerBusy: () => {
        const now = core.now()
        return core.workers.map((w) => w.busyRatio(now))
      }
    })
    core.metrics = metrics.format
    // Finalizers run last-in first-out: the graceful close runs before the workers' scope ends.
    yield* Effect.addFinalizer(() => core.close(opts.closeTimeoutMs).pipe(Effect.andThen(Effect.sync(metrics.remove))))
    return core
  })
