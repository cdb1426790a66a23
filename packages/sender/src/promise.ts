/**
 * The Promise facade, for callers who do not use Effect:
 *
 * ```ts
 * const sender = await createSender({ endpoint: "/tmp/txlane.sock" })
 * await sender.send([tx1, tx2])
 * const report = await sender.close({ timeoutMs: 5_000 })
 * ```
 *
 * Promises reject with the tagged error instances themselves (`e instanceof QueueFull`,
 * `e._tag === "QueueFull"`). In fire-and-forget mode a batch that fits in the queue costs no
 * Effect run and no new promise: `send` returns one shared, already-resolved promise.
 *
 * @module
 */
import { Envelope, HostLogger } from "@txlane/protocol"
import { Cause, Effect, Exit, Scope } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { InvalidOption } from "./errors.js"
import { makeCore, type Submitted } from "./internal/core.js"
import type { Options } from "./Options.js"
import type { CloseReport, Stats } from "./Stats.js"

/** A running sender, driven with Promises. */
export interface SenderClient {
  /**
   * Queues `transactions` (each an encoded `Transaction`) as one `Transactions` frame.
   * Resolves with `undefined` once queued (fire-and-forget) or with the peer's `count`
   * (acknowledged). Rejects with `FrameTooLarge`, `QueueFull`, `SenderClosed`, and in
   * acknowledged mode `Rejected`, `AckTimeout` or `RetriesExhausted`.
   */
  send(transactions: ReadonlyArray<Uint8Array>): Promise<number | undefined>
  /** Queues a pre-encoded payload as one frame, as-is. Same outcomes as {@link send}. */
  sendPayload(payload: Uint8Array): Promise<number | undefined>
  /** A synchronous snapshot of the counters. */
  stats(): Stats
  /** The metric registry this sender uses (the process-wide default), in Prometheus text format. */
  metrics(): string
  /**
   * Graceful close (see `SenderService.close`), then releases every resource. Never rejects.
   * `timeoutMs` defaults to the sender's `closeTimeout` (10 s).
   */
  close(options?: { readonly timeoutMs?: number | undefined }): Promise<CloseReport>
}

/** Options of {@link createSender}: the same as the Effect API's. */
export interface CreateSenderOptions extends Options {
  /**
   * Where the sender's warnings go: `console`, a pino logger, anything with
   * `debug`/`info`/`warn`/`error`. Default: one line each on stderr. Never stdout.
   */
  readonly logger?: HostLogger.LoggerLike | undefined
  /** The least severe level written: `"debug"`, `"info"`, `"warn"` (default), `"error"` or `"none"`. */
  readonly logLevel?: HostLogger.Level | undefined
}

const RESOLVED: Promise<undefined> = Promise.resolve(undefined)

const settle = (submitted: Submitted): Promise<number | undefined> => {
  if (submitted === undefined) return RESOLVED
  if (submitted instanceof Error) return Promise.reject(submitted)
  return Effect.runPromise(submitted)
}

/**
 * Starts a sender. Rejects with `InvalidEndpoint` or `InvalidOption` when the options are
 * wrong; never waits for the receiver (workers connect lazily and retry on the reconnect schedule).
 */
export const createSender = async (options: CreateSenderOptions): Promise<SenderClient> => {
  const scope = Effect.runSync(Scope.make())
  const { logger, logLevel, ...senderOptions } = options
  if (logLevel !== undefined && HostLogger.parseLevel(logLevel) === undefined) {
    throw new InvalidOption({ option: "logLevel", reason: `must be debug, info, warn, error or none, got ${logLevel}` })
  }
  const made = await Effect.runPromiseExit(
    Scope.provide(makeCore(senderOptions), scope).pipe(Effect.provide(HostLogger.layer({ logger, logLevel })))
  )
  if (Exit.isFailure(made)) {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    throw Cause.squash(made.cause)
  }
  const core = made.value
  let closed: Promise<CloseReport> | undefined
  return {
    send: (transactions) => {
      let payload: Uint8Array
      try {
        payload = Envelope.encode(transactions)
      } catch (error) {
        return Promise.reject(error)
      }
      return settle(core.submit(payload, transactions.length))
    },
    sendPayload: (payload) => settle(core.submit(payload, 0)),
    stats: () => core.stats(),
    metrics: () => PrometheusMetrics.formatUnsafe(core.context),
    close: (closeOptions) => {
      closed ??= Effect.runPromise(
        core
          .close(closeOptions?.timeoutMs ?? core.options.closeTimeoutMs)
          .pipe(Effect.tap(() => Scope.close(scope, Exit.void)))
      )
      return closed
    }
  }
}
