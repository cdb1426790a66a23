/**
 * The Promise facade, for code that does not use Effect:
 *
 * ```ts
 * const receiver = await createReceiver({
 *   listen: "/run/txlane/node-0.sock",
 *   submit: async ({ transactions }) => ({ count: await consensus.submit(transactions) })
 * })
 * receiver.address // the path, or tcp://host:port with the actual port
 * receiver.stats()
 * await receiver.close({ timeoutMs: 5000 })
 * ```
 *
 * Every option of `Receiver.make` is accepted, with the same defaults. Metrics go to Effect's
 * process-wide registry (`receiver.metrics()` formats it for Prometheus).
 *
 * @module
 */
import { HostLogger } from "@txlane/protocol"
import { Effect, Exit, Scope } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { InvalidOptions, type ListenError } from "./errors.js"
import * as Receiver from "./Receiver.js"

/** Options of {@link createReceiver}: those of `Receiver.make`, with an async `submit`. */
export interface ReceiverOptions extends Omit<Receiver.Options, "submit"> {
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
}

const isPromiseLike = (value: unknown): value is PromiseLike<unknown> =>
  typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function"

/** A running receiver. */
export interface PromiseReceiver {
  /** The actual endpoint: the socket path, or `tcp://host:port` with the port the kernel chose. */
  readonly address: string
  /** A synchronous snapshot of the numbers. */
  stats(): Receiver.Stats
  /** Prometheus text of every metric in the process-wide registry (this receiver's carry `receiver="NAME"`). */
  metrics(): string
  /**
   * Graceful shutdown (see `ReceiverApi.shutdown`): resolves with what was done once every
   * connection is closed or the deadline (default `shutdownTimeoutMs`, 10 s) passed. Idempotent.
   */
  close(options?: Receiver.ShutdownOptions): Promise<Receiver.ShutdownReport>
}

/**
 * Starts a receiver. Rejects with `InvalidOptions`, `AddressInUse`, `PathNotSocket` or
 * `ListenFailed` (the error objects themselves).
 */
export const createReceiver = async (options: ReceiverOptions): Promise<PromiseReceiver> => {
  const { submit, logger, logLevel, ...rest } = options
  if (logLevel !== undefined && HostLogger.parseLevel(logLevel) === undefined) {
    throw new InvalidOptions({
      option: "logLevel",
      reason: `must be debug, info, warn, error or none, got ${String(logLevel)}`
    })
  }
  const scope = Scope.makeUnsafe()
  const exit = await Effect.runPromiseExit(
    Receiver.make<unknown>({
      ...rest,
      submit: (batch) => {
        // A synchronous submit (one that enqueues into an in-memory pool, say) is answered without
        // a Promise and an async hop per frame; a throw and a rejection are answered the same way.
        let result: ReturnType<typeof submit>
        try {
          result = submit(batch)
        } catch (error) {
          return Effect.fail(error)
        }
        return isPromiseLike(result)
          ? Effect.tryPromise({ try: () => result, catch: (error) => error })
          : Effect.succeed(result)
      }
    }).pipe(Scope.provide(scope), Effect.provide(HostLogger.layer({ logger, logLevel })))
  )
  if (Exit.isFailure(exit)) {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    throw firstError(exit)
  }
  const api = exit.value
  let closed: Promise<Receiver.ShutdownReport> | undefined
  return {
    address: api.address,
    stats: api.stats,
    metrics: () => Effect.runSync(PrometheusMetrics.format()),
    close: (closeOptions) => {
      if (closed === undefined) {
        closed = Effect.runPromise(
          Effect.gen(function* () {
            const report = yield* api.shutdown(closeOptions)
            yield* Scope.close(scope, Exit.void)
            return report
          })
        )
      }
      return closed
    }
  }
}

const firstError = (exit: Exit.Failure<unknown, ListenError>): unknown => {
  const failure = exit.cause.reasons.find((reason) => reason._tag === "Fail")
  return failure !== undefined && failure._tag === "Fail" ? failure.error : new Error(String(exit.cause))
}
