/**
 * The receiver runs frames through one of two kinds of handler: plain callbacks
 * (src/internal/directHandlers.ts), calling a Promise `submit` as given or an Effect `submit` on a
 * fiber per frame (src/internal/effectSubmit.ts); or, when frames get spans, handler fibers
 * (src/internal/handler.ts). Tests of the receiver's rules run against each: `"promise"` is
 * `createReceiver` as is; `"effect"` starts the same options through `Receiver.make`, with the
 * `submit` wrapped in an Effect; `"traced"` does the same with a tracer installed, so its frames go
 * through the handler fibers.
 */
import { Effect, Exit, Metric, References, Scope, Tracer } from "effect"
import { type CreateReceiverOptions, createReceiver, Receiver, type ReceiverHandle } from "../src/index.js"

export type HandlerKind = "promise" | "effect" | "traced"
export const handlerKinds: ReadonlyArray<HandlerKind> = ["promise", "effect", "traced"]

// Records nothing; any tracer but Effect's default one gives frames spans.
const tracer = Tracer.make({ span: (options) => new Tracer.NativeSpan(options) })

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
      Effect.provideService(Metric.MetricRegistry, new Map()),
      kind === "traced" ? Effect.provideService(Tracer.Tracer, tracer) : (self) => self
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
