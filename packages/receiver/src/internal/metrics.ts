/**
 * The receiver's metrics, registered with the shared scrape-time registrar of
 * `@txlane/protocol/internal`: counters and gauges read the live {@link Counters} when a snapshot
 * is taken (e.g. by `PrometheusMetrics.format()`), so the hot path never pays for a metric update;
 * the submit-duration histogram (seconds, the sender's bucket list) allocates nothing per submit.
 *
 * Every series carries the attribute `receiver` (the `name` option, default: the address), so
 * several receivers in one process are separate series in the same registry; each receiver also
 * keeps its own series in a private registry, which its `metrics()` renders.
 *
 * @module
 */
import { type LatencyHistogram, registrar } from "@txlane/protocol/internal"
import type { Context } from "effect"
import { type InputErrorKind, inputErrorKinds } from "../errors.js"
import { names } from "../Metrics.js"
import type { Counters } from "./counters.js"

/** The registered series of one receiver. */
export interface Registered {
  /** This receiver's series only, in the Prometheus text format. */
  readonly format: () => string
  /** Removes every series of this receiver from the registries. */
  readonly remove: () => void
}

/** Registers the metrics of one receiver into the registry found in `context` (and its private one). */
export const register = (
  counters: Counters,
  context: Context.Context<never>,
  receiver: string,
  handlers: number,
  startedAt: number,
  /** Submit durations, recorded by the handlers (which exist before the receiver is registered). */
  submitDurations: LatencyHistogram
): Registered => {
  const r = registrar(context, { receiver })
  r.gauge(names.connectionsOpen, "Connections open now", () => counters.connectionsOpen)
  r.counter(names.connectionsTotal, "Connections accepted", () => counters.connectionsTotal)
  r.counter(
    names.connectionsRejected,
    "Connections closed at once because maxConnections were open",
    () => counters.connectionsRejected
  )
  r.gauge(
    names.connectionsPaused,
    "Connections whose reading is paused (backpressure)",
    () => counters.connectionsPaused
  )
  r.counter(names.framesReceived, "Frames decoded", () => counters.framesReceived)
  r.counter(names.bytesReceived, "Bytes read from sockets", () => counters.bytesReceived)
  r.counter(names.transactionsReceived, "Transactions handed to submit", () => counters.transactionsReceived)
  r.counter(names.framesSubmitted, "Frames submitted successfully", () => counters.framesSubmitted)
  r.counter(
    names.transactionsAccepted,
    "Transactions accepted (sum of the counts submit reported)",
    () => counters.transactionsAccepted
  )
  for (const kind of inputErrorKinds) {
    r.counter(
      names.errors,
      "Bad inputs and refused connections, by kind",
      () => counters.errors[kind as InputErrorKind],
      {
        kind
      }
    )
  }
  r.gauge(names.queueDepth, "Frames decoded and not yet finished", () => counters.queuedFrames)
  r.gauge(names.bufferedBytes, "Bytes held: queued frames plus partial frames", () => counters.bufferedBytes)
  r.gauge(names.handlersBusy, "Handlers working on a frame now", () => counters.handlersBusy)
  r.counter(
    names.handlerBusySeconds,
    "Handler time spent on frames (rate / handlers = busy ratio)",
    () => counters.handlerBusyMs / 1000
  )
  r.gauge(names.handlerBusyRatio, "Share of handler time spent on frames since start", () =>
    busyRatio(counters, handlers, startedAt, performance.now())
  )
  r.histogram(names.submitDuration, "Duration of submit calls, in seconds", submitDurations)
  return { format: r.format, remove: r.remove }
}

/** Busy time over available handler time since `startedAt` (a `performance.now()` reading). */
export const busyRatio = (counters: Counters, handlers: number, startedAt: number, now: number): number => {
  const available = handlers * (now - startedAt)
  return available > 0 ? Math.min(1, counters.handlerBusyMs / available) : 0
}
