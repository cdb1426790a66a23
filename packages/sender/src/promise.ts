/**
 * The Promise facade, for callers who do not use Effect:
 *
 * ```ts
 * const sender = await createSender({ endpoint: "/tmp/txlane.sock", ackTimeoutMs: 5_000 })
 * sender.events.listen("disconnected", (e) => console.warn(`worker ${e.worker}: ${e.error}`))
 * await sender.send([tx1, tx2], { signal: AbortSignal.timeout(1_000) })
 * const report = await sender.close({ timeoutMs: 5_000 })
 * ```
 *
 * Durations are `…Ms` numbers and `reconnect`/`transientRetry` are plain {@link Backoff} objects
 * (the Effect API takes `Duration`s and `Schedule`s). Promises reject with the tagged error
 * instances themselves (`e instanceof QueueFull`, `e._tag === "QueueFull"`). In fire-and-forget
 * mode a batch that fits in the queue costs no Effect run and no new promise: `send` returns one
 * shared, already-resolved promise.
 *
 * @module
 */
import { HostEvents, HostLogger } from "@txlane/protocol"
import { abortWith, invalidOptions } from "@txlane/protocol/internal"
import { Cause, Effect, Exit, Fiber, Result, Schema, Scope } from "effect"
import { AbortError, InvalidOptions } from "./errors.js"
import { encodeFrame, payloadOf } from "./internal/batch.js"
import { makeCore, type SenderCore, type Submitted } from "./internal/core.js"
import { type Backoff, backoffSchedule, type ConnectionEvent, type Options } from "./Options.js"
import type { CloseReport, Stats } from "./Stats.js"

/** Options of one `send`/`sendPayload` call. */
export interface SendOptions {
  /**
   * Aborts the call. Before the batch is queued (a `"suspend"` queue that is full): it is not
   * queued and the promise rejects with `AbortError { accepted: false }`. While waiting for the
   * acknowledgement: the promise rejects with `AbortError { accepted: true }` and the batch is
   * still delivered and reported (`onOutcome`, the close report). A fire-and-forget batch that
   * fitted in the queue resolves at once and cannot be aborted.
   */
  readonly signal?: AbortSignal | undefined
}

/** Options of {@link SenderHandle.close}. */
export interface CloseOptions {
  /** How long to wait for the queue and in-flight batches to drain. Default: the sender's `closeTimeoutMs` (10 s). */
  readonly timeoutMs?: number | undefined
  /**
   * Stops waiting for the drain and closes now, as if the deadline had passed: the report has
   * `timedOut: true` and lists every batch not delivered in `undelivered`, with its payload.
   */
  readonly signal?: AbortSignal | undefined
}

/**
 * The connection events of a sender: an `EventTarget` (see `HostEvents` in `@txlane/protocol`).
 * `events.listen("disconnected", (e) => …)` gets the {@link ConnectionEvent} itself; Node's
 * `events.on(sender.events, "connected")` makes an async iterator of `CustomEvent`s (`detail`).
 */
export type SenderEvents = HostEvents.Emitter<ConnectionEvent>

/** A running sender, driven with Promises. */
export interface SenderHandle {
  /**
   * Queues `transactions` (each an encoded `Transaction`) as one `Transactions` frame.
   * Resolves with `undefined` once queued (fire-and-forget) or with the peer's `count`
   * (acknowledged). Rejects with `FrameTooLarge`, `QueueFull`, `SenderClosed`, `AbortError`, and
   * in acknowledged mode `Rejected`, `AckTimeout` or `RetriesExhausted`.
   */
  send(transactions: ReadonlyArray<Uint8Array>, options?: SendOptions): Promise<number | undefined>
  /** Queues a pre-encoded payload as one frame, as-is. Same outcomes as {@link send}. */
  sendPayload(payload: Uint8Array, options?: SendOptions): Promise<number | undefined>
  /** A synchronous snapshot of the counters. */
  stats(): Stats
  /** This sender's series only, in the Prometheus text format. */
  metrics(): string
  /** Connection state changes: `"connected"`, `"disconnected"`, `"connect-failed"` (see {@link SenderEvents}). */
  readonly events: SenderEvents
  /**
   * Graceful close (see `SenderService.close`), then releases every resource. Never rejects.
   * Idempotent: later calls return the first call's report (a later `signal` still cuts it short).
   */
  close(options?: CloseOptions): Promise<CloseReport>
}

/** Options of {@link createSender}: the Effect API's, with `…Ms` numbers and plain backoffs. */
export interface CreateSenderOptions
  extends Omit<Options, "ackTimeout" | "connectTimeout" | "closeTimeout" | "reconnect" | "transientRetry"> {
  /** See `Options.ackTimeout`. Default 30,000. */
  readonly ackTimeoutMs?: number | undefined
  /** See `Options.connectTimeout`. Default 5,000. */
  readonly connectTimeoutMs?: number | undefined
  /** See `Options.closeTimeout`. Default 10,000. */
  readonly closeTimeoutMs?: number | undefined
  /** When to retry a failed connect, per outage. Default `{ initialDelayMs: 20, maxDelayMs: 1000 }`, forever. */
  readonly reconnect?: Backoff | undefined
  /** When to retry a batch answered as transient. Default `{ initialDelayMs: 100, maxDelayMs: 4000, maxRetries: 30 }`. */
  readonly transientRetry?: Backoff | undefined
  /**
   * Where the sender's warnings go: `console`, a pino logger, anything with
   * `debug`/`info`/`warn`/`error`. Default: one line each on stderr. Never stdout.
   */
  readonly logger?: HostLogger.LoggerLike | undefined
  /** The least severe level written: `"debug"`, `"info"`, `"warn"` (default), `"error"` or `"none"`. */
  readonly logLevel?: HostLogger.Level | undefined
}

const RESOLVED: Promise<undefined> = Promise.resolve(undefined)

const positive = Schema.Finite.check(Schema.isGreaterThan(0))
/** The schema of a {@link Backoff}. */
export const backoffSchema = Schema.Struct({
  initialDelayMs: positive,
  maxDelayMs: positive,
  factor: Schema.optional(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(1))),
  jitter: Schema.optional(Schema.Boolean),
  maxRetries: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)))
})

// The Effect option each `…Ms` option becomes; a failure names the option the caller wrote.
const MS_OPTIONS = { ackTimeoutMs: "ackTimeout", connectTimeoutMs: "connectTimeout", closeTimeoutMs: "closeTimeout" }

const backoff = (option: string, value: Backoff | undefined, defaultMaxRetries?: number) => {
  if (value === undefined) return undefined
  const decoded = Schema.decodeUnknownResult(backoffSchema)(value)
  if (Result.isFailure(decoded)) {
    const error = invalidOptions(decoded.failure, value)
    throw new InvalidOptions({ option: `${option}.${error.option}`, reason: error.reason })
  }
  const { initialDelayMs, maxDelayMs } = decoded.success
  if (maxDelayMs < initialDelayMs) {
    throw new InvalidOptions({
      option: `${option}.maxDelayMs`,
      reason: `must be at least initialDelayMs (${initialDelayMs}), got ${maxDelayMs}`
    })
  }
  return backoffSchedule(decoded.success, defaultMaxRetries)
}

/** The Effect API's options for `options`, or `InvalidOptions`. */
const toEffectOptions = (options: CreateSenderOptions): Options => {
  const { ackTimeoutMs, connectTimeoutMs, closeTimeoutMs, reconnect, transientRetry, ...rest } = options
  const reconnectSchedule = backoff("reconnect", reconnect)
  const transientSchedule = backoff("transientRetry", transientRetry, 30)
  return {
    ...rest,
    ...(ackTimeoutMs === undefined ? {} : { ackTimeout: ackTimeoutMs }),
    ...(connectTimeoutMs === undefined ? {} : { connectTimeout: connectTimeoutMs }),
    ...(closeTimeoutMs === undefined ? {} : { closeTimeout: closeTimeoutMs }),
    ...(reconnectSchedule === undefined ? {} : { reconnect: reconnectSchedule }),
    ...(transientSchedule === undefined ? {} : { transientRetry: transientSchedule })
  }
}

const renamed = (error: unknown): unknown => {
  if (!(error instanceof InvalidOptions)) return error
  const option = Object.entries(MS_OPTIONS).find(([, effect]) => effect === error.option)?.[0]
  return option === undefined ? error : new InvalidOptions({ option, reason: error.reason })
}

const submitWith = (
  core: SenderCore,
  payload: Uint8Array,
  transactions: number,
  options: SendOptions | undefined,
  frame?: Uint8Array
) => {
  const signal = options?.signal
  if (signal === undefined)
    return core.options.acknowledged
      ? acknowledge(core, payload, transactions, frame)
      : settle(core.submit(payload, transactions, undefined, frame))
  if (signal.aborted) return Promise.reject(new AbortError({ reason: signal.reason, accepted: false }))
  const before = core.counters.accepted
  let queued = false
  const submitted = core.submit(
    payload,
    transactions,
    () => {
      queued = true
    },
    frame
  )
  if (!Effect.isEffect(submitted)) return settle(submitted)
  // `submit` is synchronous: a count that moved means this batch went straight into the queue.
  queued = core.counters.accepted > before
  return Effect.runPromiseExit(submitted, { signal }).then((exit) => {
    if (Exit.isSuccess(exit)) return exit.value
    if (Cause.hasInterruptsOnly(exit.cause)) throw new AbortError({ reason: signal.reason, accepted: queued })
    throw Cause.squash(exit.cause)
  })
}

/**
 * An acknowledged send without a signal: the batch settles a plain Promise through a callback
 * instead of a fiber awaiting its `Deferred` (a fiber per batch was the largest garbage of an
 * acknowledged send). An Effect comes back only when the queue is full under `"suspend"`; it
 * waits for room, and the callback still settles the batch once it is in.
 */
const acknowledge = (
  core: SenderCore,
  payload: Uint8Array,
  transactions: number,
  frame: Uint8Array | undefined
): Promise<number | undefined> =>
  new Promise((resolve, reject) => {
    const submitted = core.submit(payload, transactions, undefined, frame, (exit) =>
      Exit.isSuccess(exit) ? resolve(exit.value) : reject(Cause.squash(exit.cause))
    )
    if (submitted === undefined) return
    if (submitted instanceof Error) return reject(submitted)
    Effect.runPromise(submitted).catch(reject)
  })

const settle = (submitted: Submitted): Promise<number | undefined> => {
  if (submitted === undefined) return RESOLVED
  if (submitted instanceof Error) return Promise.reject(submitted)
  return Effect.runPromise(submitted)
}

/**
 * Starts a sender. Rejects with `InvalidEndpoint` or `InvalidOptions` (naming the option as
 * written here, e.g. `ackTimeoutMs`, `reconnect.maxDelayMs`) when the options are wrong; never
 * waits for the receiver (workers connect lazily and retry on the reconnect backoff).
 */
export const createSender = async (options: CreateSenderOptions): Promise<SenderHandle> => {
  const { logger, logLevel, onConnectionEvent, ...senderOptions } = options
  if (logLevel !== undefined && HostLogger.parseLevel(logLevel) === undefined) {
    throw new InvalidOptions({
      option: "logLevel",
      reason: `must be debug, info, warn, error or none, got ${logLevel}`
    })
  }
  const events: SenderEvents = new HostEvents.Emitter<ConnectionEvent>()
  const effectOptions: Options = {
    ...toEffectOptions(senderOptions),
    onConnectionEvent: (event) => {
      events.emit(event)
      onConnectionEvent?.(event)
    }
  }
  const scope = Effect.runSync(Scope.make())
  const made = await Effect.runPromiseExit(
    Scope.provide(makeCore(effectOptions), scope).pipe(Effect.provide(HostLogger.layer({ logger, logLevel })))
  )
  if (Exit.isFailure(made)) {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    throw renamed(Cause.squash(made.cause))
  }
  const core = made.value
  let closed: Promise<CloseReport> | undefined
  let aborted = false
  // At the deadline the close interrupts the workers; an abort does the same, now.
  const abortClose = () => {
    aborted = true
    Effect.runFork(Fiber.interruptAll(core.fibers))
  }
  return {
    send: (transactions, sendOptions) => {
      let frame: Uint8Array
      try {
        frame = encodeFrame(transactions)
      } catch (error) {
        return Promise.reject(error)
      }
      return submitWith(core, payloadOf(frame), transactions.length, sendOptions, frame)
    },
    sendPayload: (payload, sendOptions) => submitWith(core, payload, 0, sendOptions),
    stats: () => core.stats(),
    metrics: () => core.metrics(),
    events,
    close: (closeOptions) => {
      closed ??= Effect.runPromise(
        core
          .close(closeOptions?.timeoutMs ?? core.options.closeTimeoutMs)
          .pipe(Effect.tap(() => Scope.close(scope, Exit.void)))
      ).then((report) => (aborted ? { ...report, timedOut: true } : report))
      abortWith(closeOptions?.signal, abortClose, closed)
      return closed
    }
  }
}
