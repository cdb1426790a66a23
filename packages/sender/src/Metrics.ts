/**
 * The sender's metric names and a Prometheus rendering helper.
 *
 * Every series carries the attribute `sender` (the sender's `name`, default `sender-N`), so
 * several senders in one process share one registry without overwriting each other; the
 * registry is the `Metric.MetricRegistry` of the context the sender was made in (provide a
 * fresh `Map` to isolate one). Values are read from the sender's counters at scrape time, so
 * the hot path never updates a metric.
 *
 * @module
 */

import { LATENCY_BUCKETS_SECONDS as BUCKETS } from "@txlane/protocol/internal"
import type { Effect } from "effect"
import { PrometheusMetrics } from "effect/observability"

/** Upper bounds of the latency histogram's buckets, in seconds (50 µs to 10 s; the receiver uses the same list). */
export const LATENCY_BUCKETS_SECONDS: ReadonlyArray<number> = BUCKETS

/** The names of every series a sender registers (Prometheus names; counters end in `_total`). */
export const names = {
  /** Counter: batches accepted onto the queue. */
  accepted: "txlane_sender_batches_accepted_total",
  /** Counter: frame writes, resends included. */
  batchesSent: "txlane_sender_batches_sent_total",
  /** Counter: transactions in written frames. */
  transactionsSent: "txlane_sender_transactions_sent_total",
  /** Counter: bytes written, headers included. */
  bytesSent: "txlane_sender_bytes_sent_total",
  /** Counter: batches flushed (fire-and-forget) or acknowledged. */
  delivered: "txlane_sender_batches_delivered_total",
  /** Counter: responses read. */
  responses: "txlane_sender_responses_total",
  /** Counter: responses with `success: true`. */
  acknowledged: "txlane_sender_acknowledged_total",
  /** Counter: batches dropped by the `"drop"` policy. */
  dropped: "txlane_sender_dropped_total",
  /** Counter: resends after a broken connection. */
  retries: "txlane_sender_retries_total",
  /** Counter: successful connects. */
  connects: "txlane_sender_connects_total",
  /** Counter: successful connects after a worker's first. */
  reconnects: "txlane_sender_reconnects_total",
  /** Counter: frames written on connections that closed before answering them. */
  unanswered: "txlane_sender_unanswered_total",
  /**
   * Counter with attribute `kind`: `rejected`, `malformed_response`, `queue_full`, `connect`,
   * `connection`, `ack_timeout`, `gave_up`.
   */
  failures: "txlane_sender_failures_total",
  /** Gauge: batches in the queue. */
  queueDepth: "txlane_sender_queue_depth",
  /** Gauge: the queue's capacity. */
  queueCapacity: "txlane_sender_queue_capacity",
  /** Gauge: batches held by workers and not settled. */
  inFlight: "txlane_sender_in_flight",
  /** Gauge with attribute `worker`: fraction of the worker's life spent not waiting for batches. */
  workerBusyRatio: "txlane_sender_worker_busy_ratio",
  /** Histogram: write-to-answer latency against an answering peer, in seconds. */
  ackLatency: "txlane_sender_ack_latency_seconds"
} as const

/**
 * Renders every metric of the current `Metric.MetricRegistry` in the Prometheus text
 * exposition format (a thin name for `PrometheusMetrics.format`).
 */
export const renderPrometheus = (options?: PrometheusMetrics.FormatOptions): Effect.Effect<string> =>
  PrometheusMetrics.format(options)
