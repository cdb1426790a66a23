/**
 * The receiver's spans (issue #15): one `txlane.process` span per frame, from the moment a
 * handler takes the frame through `submit` to its response being written, with the attributes of
 * the OpenTelemetry messaging conventions. `submit` runs inside it, so the application's own spans
 * nest under it.
 *
 * Only when a tracer is installed (anything but Effect's default `nativeTracer`, which exports
 * nowhere): without one, the handler takes the untraced path, with no span object, clock read or
 * attribute per frame.
 *
 * @module
 */
import { Clock, Effect, type Exit, References, Tracer } from "effect"

/** The span name, as OpenTelemetry's messaging conventions build it (`{operation} {destination}` is optional). */
export const SPAN_NAME = "txlane.process"

/** Whether frames get spans in the current context: a tracing backend is installed and enabled. */
export const enabled: Effect.Effect<boolean> = Effect.gen(function* () {
  const tracer = yield* Effect.tracer
  return tracer !== Tracer.nativeTracer && (yield* References.TracerEnabled)
})

/** Starts a frame's span (a root span: a frame's trace starts at the receiver). */
export const start = (destination: string, bodySize: number, connectionId: number): Effect.Effect<Tracer.Span> =>
  Effect.makeSpan(SPAN_NAME, {
    kind: "consumer",
    root: true,
    attributes: {
      "messaging.system": "txlane",
      "messaging.operation.type": "process",
      "messaging.operation.name": "process",
      "messaging.destination.name": destination,
      "messaging.message.body.size": bodySize,
      "txlane.connection.id": connectionId
    }
  })

/** Ends `span`: `exit` fails for a frame that was rejected or whose `submit` failed (error status). */
export const end = (span: Tracer.Span, exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> =>
  Effect.map(Clock.currentTimeNanos, (now) => span.end(now, exit))
