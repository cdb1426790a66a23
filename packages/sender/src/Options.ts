/**
 * The sender's options, their defaults, and their validation.
 *
 * Every limit is an option with a documented default; the only limit that may be turned off is
 * the retry budget, and it is turned off with the explicit word `"unbounded"`, never with 0.
 * Durations are `Duration.Input` (a number is milliseconds); the Promise facade takes `…Ms`
 * numbers instead. One Effect Schema ({@link schema}) checks every option and applies the
 * defaults; {@link resolve} turns its failures into `InvalidOptions` with the field's path.
 *
 * @module
 */
import { Endpoint, Frame, Response } from "@txlane/protocol"
import { duration as durationSchema, fn, invalidOptions } from "@txlane/protocol/internal"
import { Duration, Effect, Result, Schedule, Schema } from "effect"
import { type ConnectFailed, type InvalidEndpoint, InvalidOptions } from "./errors.js"

/**
 * What `send` does when the queue is full.
 * - `"suspend"`: waits for room (backpressure on the producer).
 * - `"fail"`: fails at once with `QueueFull { capacity }`.
 * - `"drop"`: discards the batch and counts it (`stats().dropped`, `txlane_sender_dropped_total`,
 *   the close report). In acknowledged mode a dropped batch's `send` fails with `QueueFull`,
 *   since there will be no acknowledgement to resolve it with.
 */
export type Overflow = "suspend" | "fail" | "drop"

/**
 * How batches are delivered.
 * - `"fire-and-forget"`: `send` resolves once the batch is queued. Against a peer that answers
 *   (see {@link Responses}) the sender still keeps each batch until its answer arrives, retries
 *   transient rejections and resends what a broken connection left unanswered; the outcome is
 *   counted (and given to `onOutcome`), not returned to the caller.
 * - `"acknowledged"`: `send` resolves with the peer's `count` once its response arrives, or
 *   fails with `Rejected`; unacknowledged batches are resent on reconnect (at-least-once).
 */
export type Delivery = "fire-and-forget" | "acknowledged"

/**
 * Whether the peer answers every frame (fire-and-forget mode; an acknowledged sender needs answers).
 * - `"every-frame"`: it does (the deployed server; a txlane receiver with `respond: "json"`, its
 *   default). A batch is delivered when its answer accepts it.
 * - `"none"`: it never answers (a txlane receiver with `respond: "none"`). A batch is delivered when
 *   its bytes were handed to the kernel on a connection that was still open.
 * - `"auto"` (default): `"every-frame"` until the peer leaves a connection's frames unanswered for
 *   {@link AUTO_SILENCE_MS} without ever having answered one; from then on `"none"` for the sender's
 *   life. The first answer makes it `"every-frame"` for good. A connection the peer closes before
 *   answering is a broken one (its frames are resent), not a sign of silence: a receiver at its
 *   connection limit does that.
 */
export type Responses = "auto" | "every-frame" | "none"

/** Where an accepted batch ended (given to `onOutcome`, once per batch that settles before the close report). */
export interface Outcome {
  /** The frame payload. */
  readonly payload: Uint8Array
  /** Transactions in it (0 for `sendPayload`). */
  readonly transactions: number
  /**
   * - `"delivered"`: accepted by the peer (or flushed, against a silent peer).
   * - `"rejected"`: the peer gave a final error answer (`error` holds its text).
   * - `"failed"`: given up on (retry budget, ack timeout, reconnect schedule, or transient
   *   rejections past `transientRetry`); `error` says why.
   */
  readonly status: "delivered" | "rejected" | "failed"
  /** Why it was rejected or failed. */
  readonly error?: string | undefined
}

/** Options of a sender. Only `endpoint` is required. */
export interface Options {
  /** Where to connect: `/abs/path.sock`, `unix:/abs/path.sock` or `tcp://host:port`. */
  readonly endpoint: string
  /**
   * Worker fibers, each owning one persistent connection. Default 4. More connections let a
   * multi-threaded receiver work in parallel and hide round trips in acknowledged mode, but
   * all workers share this process's one JavaScript thread; the benchmark issue tunes it.
   */
  readonly workers?: number | undefined
  /** Capacity of the send queue, in batches. Default 1000 (the seed's buffer). */
  readonly queueCapacity?: number | undefined
  /** What `send` does on a full queue. Default `"suspend"`. */
  readonly overflow?: Overflow | undefined
  /** Delivery mode. Default `"fire-and-forget"` (the seed's behaviour). */
  readonly delivery?: Delivery | undefined
  /**
   * Largest payload `send` accepts, in bytes. Default 10,485,760 (10 MiB, the deployed
   * server's limit). A larger batch fails at `send` with `FrameTooLarge` and is never queued.
   */
  readonly maxFrameBytes?: number | undefined
  /** Largest number of batches a worker takes from the queue and writes in one corked write. Default 64. */
  readonly maxBatchesPerWrite?: number | undefined
  /** Acknowledged mode: frames written but not yet answered, per connection. Default 64. */
  readonly maxInFlight?: number | undefined
  /**
   * Acknowledged mode: how long a written frame may wait for its response. Default 30 seconds.
   * Past it the connection is presumed stuck: it is closed and its unanswered batches are
   * resent on a new one; a batch whose retry budget is spent fails with `AckTimeout`.
   */
  readonly ackTimeout?: Duration.Input | undefined
  /**
   * Retry budget: how many times one batch may be written again after a connection carrying it
   * broke (or timed out). A connection the peer refused (closed before any answer) while another
   * of the sender's connections is served is not counted. Default 10. `"unbounded"` never gives up. Past it the batch fails with
   * `RetriesExhausted` (acknowledged) or is counted as failed and logged (fire-and-forget).
   */
  readonly retries?: number | "unbounded" | undefined
  /**
   * When to retry a failed connect, per outage (restarted after every successful connect).
   * Default {@link defaultReconnect}: exponential from 20 ms ×2, capped at 1 s, ±20 % jitter,
   * forever. A finite schedule makes a worker give up the batches it holds (failing them with
   * `RetriesExhausted`) when it ends, then start a new outage cycle.
   */
  readonly reconnect?: Schedule.Schedule<unknown, ConnectFailed> | undefined
  /** Limit on one connect attempt. Default 5 seconds. */
  readonly connectTimeout?: Duration.Input | undefined
  /**
   * Default deadline of a graceful close (also used when the owning scope closes). Default
   * 10 seconds. What is not delivered by then is listed in the close report.
   */
  readonly closeTimeout?: Duration.Input | undefined
  /** Whether the peer answers every frame (fire-and-forget mode). Default `"auto"`; see {@link Responses}. */
  readonly responses?: Responses | undefined
  /**
   * Classifies the text of an error answer. Default `Response.classifyError`: `Node not ready…` is
   * transient, `Transaction too large…` means the peer reads out of step, anything else is final.
   */
  readonly classifyError?: ((error: string) => Response.ErrorKind) | undefined
  /**
   * When to retry a batch the peer rejected as transient; its input is the error text. Default
   * {@link defaultTransientRetry}. Until the retry, the worker writes nothing (the peer is not
   * ready). When the schedule ends, the batch is settled as rejected.
   */
  readonly transientRetry?: Schedule.Schedule<unknown, string> | undefined
  /**
   * Largest response frame accepted, in bytes. Default 262,144 (256 KiB): answers are short JSON
   * (the deployed server's `indices` list grows about 7 bytes a transaction). A larger one is a
   * protocol error: the connection is closed and its unanswered batches are resent.
   */
  readonly maxResponseBytes?: number | undefined
  /**
   * Called once for every accepted batch when it settles (delivered, rejected or failed), in
   * both delivery modes. Batches still held when a close deadline passes are in the close report
   * instead. Runs on the socket's event; keep it short and never throw.
   */
  readonly onOutcome?: ((outcome: Outcome) => void) | undefined
  /**
   * Name of this sender in metrics (the `sender` attribute). Default `"sender-N"`, N counting
   * the senders made in this process, so several senders never overwrite each other's series.
   */
  readonly name?: string | undefined
  /**
   * Called when a worker's connection changes state (see {@link ConnectionEvent}). Runs on the
   * socket's event; keep it short. A throw is ignored. The Promise facade's `events` use it.
   */
  readonly onConnectionEvent?: ((event: ConnectionEvent) => void) | undefined
}

/** A change of one worker's connection (given to `onConnectionEvent`; the Promise facade's `events`). */
export interface ConnectionEvent {
  /**
   * - `"connected"`: the worker connected (first time or again).
   * - `"disconnected"`: its connection ended; `error` says why unless it was a clean close.
   * - `"connect-failed"`: a connect attempt failed (`error`: `ENOENT`, `ECONNREFUSED`, …); it retries
   *   on the `reconnect` schedule.
   */
  readonly type: "connected" | "disconnected" | "connect-failed"
  /** The worker (0 … workers − 1). */
  readonly worker: number
  /** The endpoint, in canonical form. */
  readonly endpoint: string
  /** Why, for `"disconnected"` after an error and for `"connect-failed"`. */
  readonly error: string | undefined
}

/** Default `workers`. */
export const DEFAULT_WORKERS = 4
/** Default `queueCapacity`, in batches: the seed's channel buffer. */
export const DEFAULT_QUEUE_CAPACITY = 1000
/** Default `maxBatchesPerWrite`: enough to amortise a syscall, small enough to keep latency flat. */
export const DEFAULT_MAX_BATCHES_PER_WRITE = 64
/** Default `maxInFlight` per connection (acknowledged mode). */
export const DEFAULT_MAX_IN_FLIGHT = 64
/** Default `ackTimeout`, in milliseconds: a consensus node under load may take seconds to answer. */
export const DEFAULT_ACK_TIMEOUT_MS = 30_000
/** Default retry budget per batch. */
export const DEFAULT_RETRIES = 10
/** Default `connectTimeout`, in milliseconds. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000
/** Default `closeTimeout`, in milliseconds. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000
/** Default `maxResponseBytes`: answers are short JSON, so a larger one is a broken peer, not a big answer. */
export const DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024
/**
 * `responses: "auto"`: how long a connection's oldest frame may stay unanswered, with no answer
 * ever seen from the peer, before the peer is taken as silent. Long enough for a consensus node's
 * first submit; short enough that a silent peer costs one pause of a second per sender.
 */
export const AUTO_SILENCE_MS = 1_000

/**
 * The default `transientRetry`: 100 ms, 200 ms, … capped at 4 s (the deployed producer's retry
 * interval), ±20 % jitter, at most 30 retries (the deployed producer's bound) — about 1.8 minutes
 * of "not ready" before a batch is given up.
 */
export const defaultTransientRetry: Schedule.Schedule<unknown, string> = Schedule.min([
  Schedule.exponential("100 millis", 2),
  Schedule.spaced("4 seconds")
]).pipe(Schedule.jittered, Schedule.upTo({ times: 30 }))

/**
 * The default reconnect schedule: 20 ms, 40 ms, 80 ms … capped at 1 s, each delay multiplied
 * by a random factor in [0.8, 1.2], forever. A local receiver that restarts is found again
 * within about a second, and a missing one costs at most one connect attempt per second per worker.
 */
export const defaultReconnect: Schedule.Schedule<unknown, ConnectFailed> = Schedule.min([
  Schedule.exponential("20 millis", 2),
  Schedule.spaced("1 second")
]).pipe(Schedule.jittered)

/**
 * A capped exponential backoff as plain numbers: what the Promise API takes for `reconnect` and
 * `transientRetry` (the Effect API takes a `Schedule`; {@link backoffSchedule} makes one).
 */
export interface Backoff {
  /** The first delay, in milliseconds (> 0). */
  readonly initialDelayMs: number
  /** The largest delay, in milliseconds (>= `initialDelayMs`). */
  readonly maxDelayMs: number
  /** Growth of each delay over the previous one (>= 1). Default 2. */
  readonly factor?: number | undefined
  /** Multiply each delay by a random factor in [0.8, 1.2], so many senders do not retry in step. Default true. */
  readonly jitter?: boolean | undefined
  /** Retries per outage (`reconnect`) or per batch (`transientRetry`). Default: forever / 30. */
  readonly maxRetries?: number | undefined
}

/** Builds the `Schedule` a {@link Backoff} describes. */
export const backoffSchedule = (backoff: Backoff, defaultMaxRetries?: number): Schedule.Schedule<unknown, unknown> => {
  const capped = Schedule.min([
    Schedule.exponential(Duration.millis(backoff.initialDelayMs), backoff.factor ?? 2),
    Schedule.spaced(Duration.millis(backoff.maxDelayMs))
  ])
  const jittered = backoff.jitter === false ? capped : Schedule.jittered(capped)
  const times = backoff.maxRetries ?? defaultMaxRetries
  return times === undefined ? jittered : jittered.pipe(Schedule.upTo({ times }))
}

/** Options with every default applied and every value checked. */
export interface Resolved {
  /** The parsed endpoint. */
  readonly endpoint: Endpoint.Endpoint
  /** The endpoint in canonical form (logs, events). */
  readonly endpointText: string
  /** See `Options.workers`. */
  readonly workers: number
  /** See `Options.queueCapacity`. */
  readonly queueCapacity: number
  /** See `Options.overflow`. */
  readonly overflow: Overflow
  /** `delivery` is `"acknowledged"`. */
  readonly acknowledged: boolean
  /** See `Options.maxFrameBytes`. */
  readonly maxFrameBytes: number
  /** See `Options.maxBatchesPerWrite`. */
  readonly maxBatchesPerWrite: number
  /** See `Options.maxInFlight`. */
  readonly maxInFlight: number
  /** `ackTimeout`, in milliseconds. */
  readonly ackTimeoutMs: number
  /** `Infinity` for `"unbounded"`. */
  readonly retries: number
  /** See `Options.reconnect`. */
  readonly reconnect: Schedule.Schedule<unknown, ConnectFailed>
  /** `connectTimeout`, in milliseconds. */
  readonly connectTimeoutMs: number
  /** `closeTimeout`, in milliseconds. */
  readonly closeTimeoutMs: number
  /** See `Options.responses`. */
  readonly responses: Responses
  /** See `Options.classifyError`. */
  readonly classifyError: (error: string) => Response.ErrorKind
  /** See `Options.transientRetry`. */
  readonly transientRetry: Schedule.Schedule<unknown, string>
  /** See `Options.maxResponseBytes`. */
  readonly maxResponseBytes: number
  /** See `Options.onOutcome`. */
  readonly onOutcome: ((outcome: Outcome) => void) | undefined
  /** See `Options.onConnectionEvent`. */
  readonly onConnectionEvent: ((event: ConnectionEvent) => void) | undefined
  /** See `Options.name` (`sender-N` when not given). */
  readonly name: string
}

const positiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
const duration = durationSchema(1)
const schedule = <I>() =>
  Schema.declare((u: unknown): u is Schedule.Schedule<unknown, I> => Schedule.isSchedule(u), {
    expected: "an Effect Schedule"
  })
const maxFrameBytes = Schema.Number.check(
  Schema.makeFilter(
    (n: number) => Result.isSuccess(Frame.validateMaxFrameBytes(n)) || `an integer from 0 to ${Frame.MAX_LENGTH}`
  )
)

const struct = Schema.Struct({
  endpoint: Schema.String,
  workers: positiveInt.pipe(Schema.withDecodingDefault(Effect.succeed(DEFAULT_WORKERS))),
  queueCapacity: positiveInt.pipe(Schema.withDecodingDefault(Effect.succeed(DEFAULT_QUEUE_CAPACITY))),
  overflow: Schema.Literals(["suspend", "fail", "drop"]).pipe(
    Schema.withDecodingDefault(Effect.succeed("suspend" as const))
  ),
  delivery: Schema.Literals(["fire-and-forget", "acknowledged"]).pipe(
    Schema.withDecodingDefault(Effect.succeed("fire-and-forget" as const))
  ),
  maxFrameBytes: maxFrameBytes.pipe(Schema.withDecodingDefault(Effect.succeed(Frame.DEFAULT_MAX_FRAME_BYTES))),
  maxBatchesPerWrite: positiveInt.pipe(Schema.withDecodingDefault(Effect.succeed(DEFAULT_MAX_BATCHES_PER_WRITE))),
  maxInFlight: positiveInt.pipe(Schema.withDecodingDefault(Effect.succeed(DEFAULT_MAX_IN_FLIGHT))),
  ackTimeout: duration.pipe(Schema.withDecodingDefault(Effect.succeed(DEFAULT_ACK_TIMEOUT_MS))),
  retries: Schema.Union([Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)), Schema.Literal("unbounded")]).pipe(
    Schema.withDecodingDefault(Effect.succeed(DEFAULT_RETRIES))
  ),
  reconnect: schedule<ConnectFailed>().pipe(Schema.withDecodingDefault(Effect.succeed(defaultReconnect))),
  connectTimeout: duration.pipe(Schema.withDecodingDefault(Effect.succeed(DEFAULT_CONNECT_TIMEOUT_MS))),
  closeTimeout: duration.pipe(Schema.withDecodingDefault(Effect.succeed(DEFAULT_CLOSE_TIMEOUT_MS))),
  responses: Schema.Literals(["auto", "every-frame", "none"]).pipe(
    Schema.withDecodingDefault(Effect.succeed("auto" as const))
  ),
  classifyError: fn<(error: string) => Response.ErrorKind>().pipe(
    Schema.withDecodingDefault(Effect.succeed(Response.classifyError))
  ),
  transientRetry: schedule<string>().pipe(Schema.withDecodingDefault(Effect.succeed(defaultTransientRetry))),
  maxResponseBytes: positiveInt.pipe(Schema.withDecodingDefault(Effect.succeed(DEFAULT_MAX_RESPONSE_BYTES))),
  onOutcome: Schema.optional(fn<(outcome: Outcome) => void>()),
  onConnectionEvent: Schema.optional(fn<(event: ConnectionEvent) => void>()),
  name: Schema.optional(Schema.String)
})

/** {@link Options} with every default applied (durations still `Duration.Input`): what {@link schema} decodes to. */
export type Decoded = typeof struct.Type

/**
 * The schema of {@link Options}: checks every field and applies every default (durations stay
 * `Duration.Input`). The CLI decodes its flags with it too, so both validate one way.
 */
export const schema: Schema.Codec<Decoded, typeof struct.Encoded> = struct

let instances = 0

/** Decodes the options with {@link schema} and resolves them for the internals. */
export const resolve = (options: Options): Result.Result<Resolved, InvalidEndpoint | InvalidOptions> => {
  const decoded = Schema.decodeUnknownResult(schema)(options)
  if (Result.isFailure(decoded)) return Result.fail(invalidOptions(decoded.failure, options))
  const o = decoded.success
  const endpoint = Endpoint.parse(o.endpoint)
  if (Result.isFailure(endpoint)) return Result.fail(endpoint.failure)
  if (o.responses === "none" && o.delivery === "acknowledged") {
    return Result.fail(new InvalidOptions({ option: "responses", reason: `"none" needs delivery "fire-and-forget"` }))
  }
  instances++
  return Result.succeed({
    endpoint: endpoint.success,
    endpointText: Endpoint.format(endpoint.success),
    workers: o.workers,
    queueCapacity: o.queueCapacity,
    overflow: o.overflow,
    acknowledged: o.delivery === "acknowledged",
    maxFrameBytes: o.maxFrameBytes,
    maxBatchesPerWrite: o.maxBatchesPerWrite,
    maxInFlight: o.maxInFlight,
    ackTimeoutMs: Duration.toMillis(o.ackTimeout),
    retries: o.retries === "unbounded" ? Number.POSITIVE_INFINITY : o.retries,
    reconnect: o.reconnect,
    connectTimeoutMs: Duration.toMillis(o.connectTimeout),
    closeTimeoutMs: Duration.toMillis(o.closeTimeout),
    responses: o.responses,
    classifyError: o.classifyError,
    transientRetry: o.transientRetry,
    maxResponseBytes: o.maxResponseBytes,
    onOutcome: o.onOutcome,
    onConnectionEvent: o.onConnectionEvent,
    name: o.name ?? `sender-${instances}`
  })
}
