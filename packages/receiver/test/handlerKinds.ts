/**
 * The receiver runs frames through one of two kinds of handler: handler fibers for an Effect
 * `submit` (src/internal/handler.ts), or plain callbacks for a Promise `submit`
 * (src/internal/directHandlers.ts). Tests of the receiver's rules run against both: `"promise"` is
 * `createReceiver` as is; `"effect"` starts the same options through `Receiver.make`, with the
 * `submit` wrapped in an Effect, so its frames go through the handler fibers.
 */
import { Effect, Exit, Metric, References, Scope } from "effect"
import { type CreateReceiverOptions, createReceiver, Receiver, type ReceiverHandle } from "../src/index.js"

export type HandlerKind = "promise" | "effect"
export const handlerKinds: ReadonlyArray<HandlerKind> = ["promise", "effect"]

/** What the tests use of a running receiver. */
export type TestReceiver = Pick<ReceiverHandle, "address" | "stats" | "close">

export const startReceiver = async (kind: HandlerKind, options: CreateReceiverOptions): Promise<TestReceiver> => {
  if (kind === "promise") return createReceiver(options)
  const {
    submit,
    logger: _logger,
    logLevel,
    frameTimeoutMs,
    idleTimeoutMs,
    evictIdleAfterMs,
    lingerMs,
    closeTimeoutMs,
    ...rest
  } = options
  const scope = Scope.makeUnsafe()
  const api = await Effect.runPromise(
    Receiver.make({
      ...rest,
      frameTimeout: frameTimeoutMs,
      idleTimeout: idleTimeoutMs,
      evictIdleAfter: evictIdleAfterMs,
      linger: lingerMs,
      closeTimeout: closeTimeoutMs,
      submit: (batch) => Effect.tryPromise({ try: async () => submit(batch), catch: (error) => error })
    }).pipe(
      Scope.provide(scope),
      Effect.provideService(References.MinimumLogLevel, logLevel === "none" ? "None" : "Warn"),
      Effect.provideService(Metric.MetricRegistry, new Map())
    )
  )
  let closed: ReturnType<TestReceiver["close"]> | undefined
  return {
    address: api.address,
    stats: api.statsUnsafe,
    close: (closeOptions) => {
      closed ??= Effect.runPromise(
        Effect.gen(function* () {
          const timeout = closeOptions?.timeoutMs
          const report = yield* api.close(timeout === undefined ? undefined : { timeout })
          yield* Scope.close(scope, Exit.void)
          return report
        })
      )
      return closed
    }
  }
}
