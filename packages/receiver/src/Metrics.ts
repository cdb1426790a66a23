/**
 * The receiver's metric names and a Prometheus rendering helper (the sender's `Metrics` module
 * has the same shape).
 *
 * Every series carries the attribute `receiver` (the receiver's `name`, default: its address), so
 * several receivers in one process share one registry without overwriting each other; the
 * registry is the `Metric.MetricRegistry` of the context the receiver was made in. Values are read
 * from the receiver's counters at scrape time. A receiver's own `metrics` renders its series only.
 *
 * @module
 */
import { LATENCY_BUCKETS_SECONDS as BUCKETS } from "@txlane/protocol/internal"
import type { Effect } from "effect"
import { PrometheusMetrics } from "effect/observability"

/** Upper bounds of the submit-duration histogram's buckets, in seconds (50 µs to 10 s; the sender uses the same list). */
export const LATENCY_BUCKETS_SECONDS: ReadonlyArray<number> = BUCKETS

/** The names of every series a receiver registers (Prometheus names; counters end in `_total`). */
export const names = {
  /** Gauge: connections open now. */
  connectionsOpen: "txlane_receiver_connections_open",
  /** Counter: connections accepted. */
  connectionsTotal: "txlane_receiver_connections_total",
  /** Counter: connections closed at once because `maxConnections` were open. */
  connectionsRejected: "txlane_receiver_connections_rejected_total",
  /** Gauge: connections whose reading is paused (backpressure). */
  connectionsPaused: "txlane_receiver_connections_paused",
  /** Counter: frames decoded. */
  framesReceived: "txlane_receiver_frames_received_total",
  /** Counter: bytes read from sockets. */
  bytesReceived: "txlane_receiver_bytes_received_total",
  /** Counter: transactions handed to `submit`. */
  transactionsReceived: "txlane_receiver_transactions_received_total",
  /** Counter: frames `submit` succeeded for. */
  framesSubmitted: "txlane_receiver_frames_submitted_total",
  /** Counter: sum of the counts `submit` reported. */
  transactionsAccepted: "txlane_receiver_transactions_accepted_total",
  /** Counter with attribute `kind` (an `InputError` tag): bad inputs and refused connections. */
  errors: "txlane_receiver_errors_total",
  /** Gauge: frames decoded and not yet finished. */
  queueDepth: "txlane_receiver_queue_depth",
  /** Gauge: bytes of queued frames plus partial frames. */
  bufferedBytes: "txlane_receiver_buffered_bytes",
  /** Gauge: handlers working on a frame now. */
  handlersBusy: "txlane_receiver_handlers_busy",
  /** Counter: handler time spent on frames, in seconds. */
  handlerBusySeconds: "txlane_receiver_handler_busy_seconds_total",
  /** Gauge: share of handler time spent on frames since start (0–1). */
  handlerBusyRatio: "txlane_receiver_handler_busy_ratio",
  /** Histogram: duration of `submit` calls, in seconds. */
  submitDuration: "txlane_receiver_submit_duration_seconds"
} as const

/**
 * Renders every metric of the current `Metric.MetricRegistry` (every receiver's and sender's in
 * it) in the Prometheus text exposition format (a thin name for `PrometheusMetrics.format`).
 */
export const renderPrometheus = (options?: PrometheusMetrics.FormatOptions): Effect.Effect<string> =>
  PrometheusMetrics.format(options)
