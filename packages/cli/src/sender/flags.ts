/**
 * The flags of `txlane-sender`, named after the library's options (`--queue-capacity` is
 * `queueCapacity`, `--ack-timeout` is `ackTimeout`, …) so the README of `@txlane/sender`
 * documents both.
 *
 * @module
 */
import { Frame } from "@txlane/protocol"
import { Workload } from "@txlane/protocol/testing"
import { Options } from "@txlane/sender"
import type { Duration, Option } from "effect"
import { Flag } from "effect/cli"
import { Flags, Telemetry } from "../index.js"

/** Default number of synthetic batches: a few seconds of traffic, so a first run ends by itself. */
export const DEFAULT_BATCHES = 10_000

/** The flags of `txlane-sender`. */
export const flags = {
  endpoint: Flags.endpoint("endpoint", "The receiver: a Unix socket path (or unix:PATH), or tcp://HOST:PORT."),
  workers: Flags.int("workers", "Connections (one worker each).", Options.DEFAULT_WORKERS),
  queueCapacity: Flags.int("queue-capacity", "Send queue capacity, in batches.", Options.DEFAULT_QUEUE_CAPACITY).pipe(
    Flag.withAlias("queue")
  ),
  overflow: Flag.Literals("overflow", ["suspend", "fail", "drop"]).pipe(
    Flag.withDefault("suspend" as const),
    Flag.withDescription(
      "When the queue is full: suspend (default) waits for room; fail counts the batch as an error; drop discards it and counts it."
    )
  ),
  delivery: Flag.Literals("delivery", ["fire-and-forget", "acknowledged"]).pipe(
    Flag.withDefault("fire-and-forget" as const),
    Flag.withDescription(
      "fire-and-forget (default): send returns once queued; against an answering receiver each batch still waits for its answer. acknowledged: each send waits for its answer."
    )
  ),
  maxInFlight: Flags.int(
    "max-in-flight",
    "Batches written and not yet answered, per connection.",
    Options.DEFAULT_MAX_IN_FLIGHT
  ),
  ackTimeout: Flags.duration(
    "ack-timeout",
    "Longest wait for a batch's answer before the connection is dropped and the batch resent.",
    Options.DEFAULT_ACK_TIMEOUT_MS
  ),
  retries: Flags.limit("retries", "Resends of a batch before it fails.", Options.DEFAULT_RETRIES, 0),
  connectTimeout: Flags.duration("connect-timeout", "Longest connect attempt.", Options.DEFAULT_CONNECT_TIMEOUT_MS),
  closeTimeout: Flags.duration(
    "close-timeout",
    "Deadline to deliver what is queued at the end.",
    Options.DEFAULT_CLOSE_TIMEOUT_MS
  ).pipe(Flag.withAlias("close-timeout-ms")),
  maxFrameBytes: Flags.int(
    "max-frame-bytes",
    "Largest payload sent; larger batches fail.",
    Frame.DEFAULT_MAX_FRAME_BYTES
  ),
  input: Flag.String("input").pipe(
    Flag.withMetavar("FILE|-"),
    Flag.optional,
    Flag.withDescription(
      "Send the length-prefixed frames of FILE (- = stdin), e.g. a txlane-receiver --out capture. Without it: the synthetic workload."
    )
  ),
  batches: Flags.optionalLimit(
    "batches",
    `Synthetic workload: batches to send. Default ${DEFAULT_BATCHES}, or unbounded with --duration.`
  ),
  duration: Flag.String("duration").pipe(
    Flag.withMetavar("DURATION"),
    Flag.filterMap(Flags.parseDuration, () => "a duration: 30s, 5m, 1h (a bare number is milliseconds)"),
    Flag.optional,
    Flag.withDescription(
      "Stop reading input after DURATION (30s, 5m), then deliver what is queued and print the summary, as on SIGTERM."
    )
  ),
  txPerBatch: Flags.int(
    "tx-per-batch",
    "Synthetic workload: transactions per batch.",
    Workload.DEFAULT_TRANSACTIONS_PER_BATCH
  ),
  txSize: Flags.int("tx-size", "Synthetic workload: bytes per transaction.", Workload.DEFAULT_TRANSACTION_BYTES),
  rate: Flags.limit("rate", "Synthetic workload: batches per second.", "unbounded"),
  seed: Flags.int(
    "seed",
    "Synthetic workload: PRNG seed (same seed, same transactions in every implementation).",
    1,
    0
  ),
  metrics: Flags.metrics,
  otlpEndpoint: Telemetry.otlpEndpoint,
  digest: Flags.digest,
  output: Flags.output
}

/** The parsed flags. */
export interface Config {
  readonly endpoint: string
  readonly workers: number
  readonly queueCapacity: number
  readonly overflow: Options.Overflow
  readonly delivery: Options.Delivery
  readonly maxInFlight: number
  readonly ackTimeout: Duration.Duration
  readonly retries: number | "unbounded"
  readonly connectTimeout: Duration.Duration
  readonly closeTimeout: Duration.Duration
  readonly maxFrameBytes: number
  readonly input: Option.Option<string>
  readonly batches: Option.Option<number | "unbounded">
  readonly duration: Option.Option<Duration.Duration>
  readonly txPerBatch: number
  readonly txSize: number
  readonly rate: number | "unbounded"
  readonly seed: number
  readonly metrics: Option.Option<Flags.MetricsAddress>
  readonly otlpEndpoint: Option.Option<string>
  readonly digest: boolean
  readonly output: "auto" | "tty" | "json"
}
