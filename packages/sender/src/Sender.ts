/**
 * The `Sender` service: a bounded queue in front of N worker fibers, each owning one persistent
 * connection to a txlane receiver (or the deployed Rust server).
 *
 * ```ts
 * const program = Effect.gen(function* () {
 *   const sender = yield* Sender.Sender
 *   yield* sender.send([tx1, tx2])
 * }).pipe(Effect.provide(Sender.layer({ endpoint: "/tmp/txlane.sock" })))
 * ```
 *
 * `make` is scoped: closing its scope closes the sender gracefully (drain within
 * `closeTimeout`, then stop). Call `close` yourself to choose the deadline and get the report.
 *
 * @module
 */
import { Context, Duration, Effect, Layer, type Scope } from "effect"
import type { MakeError, SendError } from "./errors.js"
import { encodeFrame, payloadOf } from "./internal/batch.js"
import { makeCore, type SenderCore, type Submitted } from "./internal/core.js"
import type { Options } from "./Options.js"
import type { CloseReport, Stats } from "./Stats.js"

/** Options of {@link SenderService.close}. */
export interface CloseOptions {
  /** How long to wait for the queue and in-flight batches to drain. Default: the sender's `closeTimeout` (10 s). */
  readonly timeout?: Duration.Input | undefined
}

/** The operations of a sender. */
export interface SenderService {
  /**
   * Wraps `transactions` (each an encoded `Transaction`) in the `Transactions` envelope and
   * queues it as one frame. Never waits for network I/O in fire-and-forget mode.
   *
   * Succeeds with `undefined` once queued (fire-and-forget; also when the `"drop"` policy drops
   * it, which is counted), or with the peer's `count` once it answers (acknowledged; the batch's
   * transaction count when the response has no `count`).
   *
   * Fails with `FrameTooLarge` (payload above `maxFrameBytes`, before queueing), `QueueFull`
   * (`"fail"` policy; `"drop"` in acknowledged mode), `SenderClosed` (after `close` began),
   * and in acknowledged mode `Rejected`, `AckTimeout` or `RetriesExhausted`.
   */
  readonly send: (transactions: ReadonlyArray<Uint8Array>) => Effect.Effect<number | undefined, SendError>
  /**
   * Queues a pre-encoded payload as one frame, as-is (normally a `Transactions` envelope; its
   * transactions are not counted in `transactionsSent`). Same outcomes as {@link send}.
   */
  readonly sendPayload: (payload: Uint8Array) => Effect.Effect<number | undefined, SendError>
  /** A snapshot of the counters. */
  readonly stats: Effect.Effect<Stats>
  /** The same snapshot, synchronously (cheap: plain numbers). */
  readonly statsUnsafe: () => Stats
  /**
   * This sender's series only, in the Prometheus text exposition format. (They are also in the
   * registry of the context it was made in, with every other sender's and receiver's: render
   * that one with `Metrics.renderPrometheus`.)
   */
  readonly metrics: Effect.Effect<string>
  /**
   * Closes gracefully: `send` fails with `SenderClosed` from now on; workers drain the queue and
   * settle what they hold (fire-and-forget: flush, half-close, read to EOF; acknowledged: wait
   * for every response, retrying as usual) within the deadline, then everything still held is
   * listed in the report's `undelivered` (with its payload) and its `send`, if waiting, fails
   * with `SenderClosed`. Never fails. Idempotent: later calls return the first call's report.
   */
  readonly close: (options?: CloseOptions) => Effect.Effect<CloseReport>
}

/** The `Sender` service tag. */
export class Sender extends Context.Service<Sender, SenderService>()("@txlane/sender/Sender") {}

const run = (submitted: Submitted): Effect.Effect<number | undefined, SendError> =>
  submitted === undefined ? Effect.undefined : Effect.isEffect(submitted) ? submitted : Effect.fail(submitted)

/** @internal Wraps a core as the service. */
export const fromCore = (core: SenderCore): SenderService => {
  return Sender.of({
    send: (transactions) =>
      Effect.suspend(() => {
        const frame = encodeFrame(transactions)
        return run(core.submit(payloadOf(frame), transactions.length, undefined, frame))
      }),
    sendPayload: (payload) => Effect.suspend(() => run(core.submit(payload, 0))),
    stats: Effect.sync(() => core.stats()),
    statsUnsafe: () => core.stats(),
    metrics: Effect.sync(() => core.metrics()),
    close: (options) =>
      core.close(options?.timeout === undefined ? core.options.closeTimeoutMs : Duration.toMillis(options.timeout))
  })
}

/**
 * Makes a sender in the current scope: validates the options (failing with `InvalidEndpoint`
 * or `InvalidOptions`), starts the workers (they connect lazily, on the first batch), and
 * registers the metrics in the current `Metric.MetricRegistry`. Closing the scope closes the
 * sender gracefully within `closeTimeout`.
 */
export const make = (options: Options): Effect.Effect<SenderService, MakeError, Scope.Scope> =>
  Effect.map(makeCore(options), fromCore)

/** A layer providing {@link Sender}; released (gracefully closed) with the layer. */
export const layer = (options: Options): Layer.Layer<Sender, MakeError> => Layer.effect(Sender, make(options))
