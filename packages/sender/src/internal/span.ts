/**
 * The `txlane.send` span of one batch (issue #15): opened when the batch is queued, given a
 * `write` event each time it goes out, ended when it settles (acknowledged, delivered, rejected,
 * failed or given back at close), with the OpenTelemetry messaging attributes.
 *
 * Spans exist only when the sender was made with a `Tracer` in its context (any tracer other
 * than Effect's default `nativeTracer`, e.g. `@effect/opentelemetry`'s) and tracing enabled:
 * otherwise a batch carries none, and the hot path pays one `undefined` check.
 *
 * A batch crosses fibers and socket callbacks, so its span is made with the tracer directly
 * rather than with `Effect.withSpan` around one fiber's work; it is a root span.
 *
 * @module
 */
import { type Clock, Context, Exit, Option, References, Tracer } from "effect"

/** The span name (the CLI's OTLP test looks for it). */
export const SPAN_NAME = "txlane.send"

/**
 * The tracer spans go to, or `undefined` when none was provided (Effect's default) or tracing is
 * turned off (`References.TracerEnabled`, e.g. `Effect.withTracerEnabled(false)`), as the receiver does.
 */
export const tracerOf = (context: Context.Context<never>): Tracer.Tracer | undefined => {
  const tracer = Context.get(context, Tracer.Tracer)
  return tracer === Tracer.nativeTracer || !Context.get(context, References.TracerEnabled) ? undefined : tracer
}

/** Opens a batch's span, with the messaging attributes known at enqueue time. */
export const startSpan = (
  tracer: Tracer.Tracer,
  clock: Clock.Clock,
  destination: string,
  bodyBytes: number,
  transactions: number
): Tracer.Span => {
  const span = tracer.span({
    name: SPAN_NAME,
    parent: Option.none(),
    annotations: Context.empty(),
    links: [],
    startTime: clock.currentTimeNanosUnsafe(),
    kind: "producer",
    root: true,
    sampled: true
  })
  span.attribute("messaging.system", "txlane")
  span.attribute("messaging.operation.type", "send")
  span.attribute("messaging.operation.name", "send")
  span.attribute("messaging.destination.name", destination)
  span.attribute("messaging.batch.message_count", transactions)
  span.attribute("messaging.message.body.size", bodyBytes)
  return span
}

/** Records one write of the batch on a socket. */
export const spanWrite = (span: Tracer.Span, clock: Clock.Clock, attempt: number): void => {
  span.event("write", clock.currentTimeNanosUnsafe(), { attempt })
}

/**
 * Ends the span with the batch's outcome. A failure (a tagged error: `Rejected`, `AckTimeout`,
 * `QueueFull`, …) sets `error.type` to its tag, and the failed exit carries the reason, which
 * exporters turn into status ERROR with that message.
 */
export const endSpan = (
  span: Tracer.Span,
  clock: Clock.Clock,
  exit: Exit.Exit<unknown, { readonly _tag: string }>
): void => {
  if (Exit.isFailure(exit)) {
    const error = Exit.findErrorOption(exit)
    if (Option.isSome(error)) span.attribute("error.type", error.value._tag)
  }
  span.end(clock.currentTimeNanosUnsafe(), exit)
}
