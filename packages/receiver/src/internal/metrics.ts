/**
 * The receiver's Effect metrics.
 *
 * Counters and gauges are registered with `Metric.registerUnsafe` hooks that read the live
 * {@link Counters} when a snapshot is taken (e.g. by `PrometheusMetrics.format()`), so the hot
 * path never pays for a metric update. Only the submit-latency histogram is updated per submit.
 *
 * Every series carries the attribute `receiver` (the `name` option, default: the address), so
 * several receivers in one process are separate series in the same registry.
 *
 * @module
 */
import type { Context } from "effect"
import { Metric } from "effect"
import { type InputErrorKind, inputErrorKinds } from "../errors.js"
import type { Counters } from "./counters.js"

/** Metric names, all prefixed `txlane_receiver_`. */
export const names = {
  connectionsOpen: "txlane_receiver_connections_open",
  connectionsTotal: "txlane_receiver_connections_total",
  connectionsRejected: "txlane_receiver_connections_rejected_total",
  connectionsPaused: "txlane_receiver_connections_paused",
  framesReceived: "txlane_receiver_frames_received_total",
  bytesReceived: "txlane_receiver_bytes_received_total",
  transactionsReceived: "txlane_receiver_transactions_received_total",
  framesSubmitted: "txlane_receiver_frames_submitted_total",
  transactionsAccepted: "txlane_receiver_transactions_accepted_total",
  errors: "txlane_receiver_errors_total",
  queueDepth: "txlane_receiver_queue_depth",
  bufferedBytes: "txlane_receiver_buffered_bytes",
  handlersBusy: "txlane_receiver_handlers_busy",
  handlerBusySeconds: "txlane_receiver_handler_busy_seconds_total",
  handlerBusyRatio: "txlane_receiver_handler_busy_ratio",
  submitDuration: "txlane_receiver_submit_duration_ms"
} as const

/** Submit-latency buckets in milliseconds: 50 µs (a local queue push) … 5 s (a stuck consensus). */
export const SUBMIT_BUCKETS_MS: ReadonlyArray<number> = [
  0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000
]

const noop = () => undefined

/** The registered series of one receiver. */
export interface Registered {
  /** Records one submit's duration. */
  readonly recordSubmit: (ms: number) => void
  /** Removes every series of this receiver from the registry. */
  readonly remove: () => void
}

/** Registers the metrics of one receiver into the registry found in `context`. */
export const register = (
  counters: Counters,
  context: Context.Context<never>,
  receiver: string,
  handlers: number,
  startedAt: number
): Registered => {
  const removers: Array<() => void> = []
  const counter = (name: string, description: string, read: () => number, extra?: Record<string, string>) => {
    const metric = Metric.counter(name, { description, incremental: true, attributes: { receiver, ...extra } })
    removers.push(
      Metric.registerUnsafe(metric, context, {
        get: () => ({ count: read(), incremental: true }),
        update: noop,
        modify: noop
      }).remove
    )
  }
  const gauge = (name: string, description: string, read: () => number) => {
    const metric = Metric.gauge(name, { description, attributes: { receiver } })
    removers.push(
      Metric.registerUnsafe(metric, context, { get: () => ({ value: read() }), update: noop, modify: noop }).remove
    )
  }
  gauge(names.connectionsOpen, "Connections open now", () => counters.connectionsOpen)
  counter(names.connectionsTotal, "Connections accepted", () => counters.connectionsTotal)
  counter(
    names.connectionsRejected,
    "Connections closed at once because maxConnections were open",
    () => counters.connectionsRejected
  )
  gauge(names.connectionsPaused, "Connections whose reading is paused (backpressure)", () => counters.connectionsPaused)
  counter(names.framesReceived, "Frames decoded", () => counters.framesReceived)
  counter(names.bytesReceived, "Bytes read from sockets", () => counters.bytesReceived)
  counter(names.transactionsReceived, "Transactions handed to submit", () => counters.transactionsReceived)
  counter(names.framesSubmitted, "Frames submitted successfully", () => counters.framesSubmitted)
  counter(
    names.transactionsAccepted,
    "Transactions accepted (sum of the counts submit reported)",
    () => counters.transactionsAccepted
  )
  for (const kind of inputErrorKinds) {
    counter(
      names.errors,
      "Bad inputs and refused connections, by kind",
      () => counters.errors[kind as InputErrorKind],
      {
        kind
      }
    )
  }
  gauge(names.queueDepth, "Frames decoded and not yet finished", () => counters.queuedFrames)
  gauge(names.bufferedBytes, "Bytes held: queued frames plus partial frames", () => counters.bufferedBytes)
  gauge(names.handlersBusy, "Handlers working on a frame now", () => counters.handlersBusy)
  counter(
    names.handlerBusySeconds,
    "Handler time spent on frames (rate / handlers = busy ratio)",
    () => counters.handlerBusyMs / 1000
  )
  gauge(names.handlerBusyRatio, "Share of handler time spent on frames since start", () =>
    busyRatio(counters, handlers, startedAt, performance.now())
  )
  const histogram = Metric.histogram(names.submitDuration, {
    description: "Duration of submit calls, in milliseconds",
    boundaries: SUBMIT_BUCKETS_MS,
    attributes: { receiver }
  })
  removers.push(() => Metric.removeUnsafe(histogram, context))
  return {
    recordSubmit: (ms) => histogram.updateUnsafe(ms, context),
    remove: () => {
      for (const remove of removers) remove()
    }
  }
}

/** Busy time over available handler time since `startedAt` (a `performance.now()` reading). */
export const busyRatio = (counters: Counters, handlers: number, startedAt: number, now: number): number => {
  const available = handlers * (now - startedAt)
  return available > 0 ? Math.min(1, counters.handlerBusyMs / available) : 0
}
