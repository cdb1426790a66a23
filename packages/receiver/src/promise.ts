/**
 * The Promise facade, for code that does not use Effect:
 *
 * ```ts
 * const receiver = await createReceiver({
 *   listen: "/run/txlane/node-0.sock",
 *   submit: async ({ transactions }) => ({ count: await consensus.submit(transactions) })
 * })
 * receiver.address // the path, or tcp://host:port with the actual port
 * receiver.events.listen("connected", (e) => console.info(`client ${e.connectionId}`))
 * receiver.stats()
 * await receiver.close({ timeoutMs: 5000, signal: AbortSignal.timeout(6000) })
 * ```
 *
 * Every option of `Receiver.make` is accepted, with the same defaults; durations are `…Ms`
 * numbers here (`Duration`s in the Effect API). Metrics go to Effect's process-wide registry;
 * `receiver.metrics()` renders this receiver's series only.
 *
 * @module
 */
import { HostEvents, HostLogger } from "@txlane/protocol"
import { abortWith } from "@txlane/protocol/internal"
import { Effect, Exit, Scope } from "effect"
import { InvalidOptions, type ListenError } from "./errors.js"
import * as DirectHandlers from "./internal/directHandlers.js"
import * as Receiver from "./Receiver.js"

/**
 * Options of {@link createReceiver}: those of `Receiver.make`, with an async `submit` and `…Ms`
 * numbers for durations.
 */
export interface CreateReceiverOptions
  extends Omit<
    Receiver.Options,
    "submit" | "frameTimeout" | "idleTimeout" | "evictIdleAfter" | "linger" | "closeTimeout"
  > {
  /**
   * Hands one frame's transactions to the application. A rejection or a throw is answered with
   * `Transaction submission failed: MESSAGE` (json mode); the receiver keeps running.
   */
  readonly submit: (
    batch: Receiver.Batch
    // biome-ignore lint/suspicious/noConfusingVoidType: an async submit that returns nothing must type-check (count defaults)
  ) => Promise<Receiver.SubmitResult | undefined | void> | Receiver.SubmitResult | undefined | void
  /**
   * Where the receiver's warnings go: `console`, a pino logger, anything with
   * `debug`/`info`/`warn`/`error`. Default: one line each on stderr. Never stdout.
   */
  readonly logger?: HostLogger.LoggerLike | undefined
  /** The least severe level written: `"debug"`, `"info"`, `"warn"` (default), `"error"` or `"none"`. */
  readonly logLevel?: HostLogger.Level | undefined
  /** See `Options.frameTimeout`. Default 10,000; `"unbounded"` turns it off. */
  readonly frameTimeoutMs?: number | "unbounded" | undefined
  /** See `Options.idleTimeout`. Default 60,000; `"unbounded"` turns it off. */
  readonly idleTimeoutMs?: number | "unbounded" | undefined
  /** See `Options.evictIdleAfter`. Default 5,000; `"unbounded"`: never evict. */
  readonly evictIdleAfterMs?: number | "unbounded" | undefined
  /** See `Options.linger`. Default 1,000. */
  readonly lingerMs?: number | undefined
  /** See `Options.closeTimeout`. Default 10,000. */
  readonly closeTimeoutMs?: number | undefined
}

/** Options of {@link ReceiverHandle.close}. */
export interface CloseOptions {
  /** Deadline, in milliseconds. Default: the receiver's `closeTimeoutMs` (10 s). */
  readonly timeoutMs?: number | undefined
  /**
   * Stops waiting for the drain and closes now, as if the deadline had passed: connections are
   * destroyed, and frames received but not submitted are counted in the report
   * (`unsubmittedFrames`, `timedOut: true`) — never silently dropped.
   */
  readonly signal?: AbortSignal | undefined
}

/**
 * The connection events of a receiver: an `EventTarget` (see `HostEvents` in `@txlane/protocol`).
 * `events.listen("connected", (e) => …)` gets the `ConnectionEvent` itself.
 */
export type ReceiverEvents = HostEvents.Emitter<Receiver.ConnectionEvent>

// The Effect option each `…Ms` option becomes; a failure names the option the caller wrote.
const MS_OPTIONS = {
  frameTimeoutMs: "frameTimeout",
  idleTimeoutMs: "idleTimeout",
  evictIdleAfterMs: "evictIdleAfter",
  lingerMs: "linger",
  closeTimeoutMs: "closeTimeout"
} as const

const renamed = (error: unknown): unknown => {
  if (!(error instanceof InvalidOptions)) return error
  const option = Object.entries(MS_OPTIONS).find(([, effect]) => effect === error.option)?.[0]
  return option === undefined ? error : new InvalidOptions({ option, reason: error.reason })
}

/**
 * The outcome of an async `submit` as an Effect (a rejection is its failure). A bare
 * `Effect.callback`: `Effect.tryPromise` costs ~1.5 µs more per frame on this hot path, for a
 * mapping of the rejection that is not needed here (bench/PROFILE.md, 2026-12-01 12:37–).
 */
const settled = <A>(promise: PromiseLike<A>): Effect.Effect<A, unknown> =>
  Effect.callback<A, unknown>((resume) => {
    promise.then(
      (value) => resume(Effect.succeed(value)),
      (error) => resume(Effect.fail(error))
    )
  })

/** A running receiver, driven with Promises. */
export interface ReceiverHandle {
  /** The actual endpoint: the socket path, or `tcp://host:port` with the port the kernel chose. */
  readonly address: string
  /** A synchronous snapshot of the numbers. */
  stats(): Receiver.Stats
  /** This receiver's series only, in the Prometheus text format (they carry `receiver="NAME"`). */
  metrics(): string
  /** Client connections opening and closing: `"connected"`, `"disconnected"`. */
  readonly events: ReceiverEvents
  /**
   * Graceful close (see `ReceiverService.close`): resolves with what was done once every
   * connection is closed or the deadline (default `closeTimeoutMs`, 10 s) passed. Never rejects.
   * Idempotent: later calls return the first call's report (a later `signal` still cuts it short).
   */
  close(options?: CloseOptions): Promise<Receiver.CloseReport>
}

/**
 * Starts a receiver. Rejects with `InvalidOptions`, `InvalidEndpoint`, `AddressInUse`, `PathNotSocket` or
 * `ListenFailed` (the error objects themselves).
 */
export const createReceiver = async (options: CreateReceiverOptions): Promise<ReceiverHandle> => {
  const {
    submit,
    logger,
    logLevel,
    onConnectionEvent,
    frameTimeoutMs,
    idleTimeoutMs,
    evictIdleAfterMs,
    lingerMs,
    closeTimeoutMs,
    ...rest
  } = options
  if (logLevel !== undefined && HostLogger.parseLevel(logLevel) === undefined) {
    throw new InvalidOptions({
      option: "logLevel",
      reason: `must be debug, info, warn, error or none, got ${String(logLevel)}`
    })
  }
  const events: ReceiverEvents = new HostEvents.Emitter<Receiver.ConnectionEvent>()
  const scope = Scope.makeUnsafe()
  const exit = await Effect.runPromiseExit(
    Receiver.make<unknown>({
      ...rest,
      ...(frameTimeoutMs === undefined ? {} : { frameTimeout: frameTimeoutMs }),
      ...(idleTimeoutMs === undefined ? {} : { idleTimeout: idleTimeoutMs }),
      ...(evictIdleAfterMs === undefined ? {} : { evictIdleAfter: evictIdleAfterMs }),
      ...(lingerMs === undefined ? {} : { linger: lingerMs }),
      ...(closeTimeoutMs === undefined ? {} : { closeTimeout: closeTimeoutMs }),
      onConnectionEvent: (event) => {
        events.emit(event)
        onConnectionEvent?.(event)
      },
      // The receiver calls `submit` itself, without handler fibers, unless frames get spans
      // (internal/directHandlers.ts); this Effect is what the traced handler fibers run.
      submit: DirectHandlers.marked((batch: Receiver.Batch) => {
        // A synchronous submit (one that enqueues into an in-memory pool, say) is answered without
        // a Promise and an async hop per frame; a throw and a rejection are answered the same way.
        let result: ReturnType<typeof submit>
        try {
          result = submit(batch)
        } catch (error) {
          return Effect.fail(error)
        }
        return DirectHandlers.isPromiseLike(result) ? settled(result) : Effect.succeed(result)
      }, submit)
    }).pipe(Scope.provide(scope), Effect.provide(HostLogger.layer({ logger, logLevel })))
  )
  if (Exit.isFailure(exit)) {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    throw renamed(firstError(exit))
  }
  const api = exit.value
  let closed: Promise<Receiver.CloseReport> | undefined
  // A close already running with `timeout: 0` ends its wait now (see `ReceiverService.close`).
  const abortClose = () => Effect.runFork(api.close({ timeout: 0 }))
  return {
    address: api.address,
    stats: api.statsUnsafe,
    metrics: () => Effect.runSync(api.metrics),
    events,
    close: (closeOptions) => {
      if (closed === undefined) {
        closed = Effect.runPromise(
          Effect.gen(function* () {
            const timeout = closeOptions?.timeoutMs
            const report = yield* api.close(timeout === undefined ? undefined : { timeout })
            yield* Scope.close(scope, Exit.void)
            return report
          })
        )
      }
      abortWith(closeOptions?.signal, abortClose, closed)
      return closed
    }
  }
}

const firstError = (exit: Exit.Failure<unknown, ListenError>): unknown => {
  const failure = exit.cause.reasons.find((reason) => reason._tag === "Fail")
  return failure !== undefined && failure._tag === "Fail" ? failure.error : new Error(String(exit.cause))
}
